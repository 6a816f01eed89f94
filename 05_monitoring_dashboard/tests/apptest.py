"""Streamlit ``AppTest`` helpers shared by the page tests: run a page, count what it shows."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[1] / "src" / "edip_dashboard" / "app.py"
TIMEOUT = 240


def run_page(page: str | None = None) -> AppTest:
    """The app (its Now page), or ``pages/<page>.py`` switched to, run without an exception."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    if page:
        at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def charts(at: AppTest) -> int:
    return len(at.get("plotly_chart"))


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}
