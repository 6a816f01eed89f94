"""Drive a running dashboard with a real headless Chromium: load each page, check it, screenshot it.

Why shared: the browser tests and ``scripts/screenshots.py`` (README images) must load the
pages the same way; a test-support module, not part of the shipped ``edip_dashboard``. Playwright
(a dev dependency) is imported lazily; the browser is Debian's Chromium (``executable_path``),
never a Playwright download.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

log = logging.getLogger(__name__)

#: url path of each page (st.navigation derives it from the file name) → screenshot name
PAGES: dict[str, str] = {
    "": "now",
    "updates": "updates",
    "why": "why",
    "performance": "performance",
    "data_health": "data_health",
    "drift": "drift",
    "alerts": "alerts",
}
#: pages that must draw at least one Plotly chart
CHART_PAGES = frozenset({"now", "updates", "why", "performance", "data_health", "drift"})
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def chromium_path() -> str | None:
    """The system Chromium binary, if any (``EDIP_CHROMIUM`` overrides)."""
    for candidate in (os.environ.get("EDIP_CHROMIUM"), *CHROMIUM_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return candidate
    found = shutil.which("chromium")
    return found


@dataclass
class PageCheck:
    """What the browser saw on one page."""

    name: str
    url: str
    charts: int
    metrics: list[str]
    exceptions: list[str]
    errors: list[str]
    screenshot: Path
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


@contextlib.contextmanager
def running_dashboard(
    api_url: str,
    port: int,
    log_path: Path,
    timeout_s: float = 90.0,
    address: str | None = "127.0.0.1",
) -> Iterator[str]:
    """``edip dashboard --port`` as a real process pointed at ``api_url``; yields its URL
    (``address=None``: the command's own default interface)."""
    edip = Path(sys.executable).with_name("edip")
    cmd = [str(edip)] if edip.is_file() else [sys.executable, "-m", "edip_pipeline.cli"]
    cmd += ["dashboard", "--port", str(port), "--api-url", api_url]
    cmd += ["--address", address] if address is not None else []
    env = {**os.environ, "EDIP_API_URL": api_url, "PYTHONUNBUFFERED": "1"}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as sink:
        process = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, env=env, start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"edip dashboard exited {process.returncode}: {log_path.read_text()[-3000:]}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/_stcore/health", timeout=2).text.strip() == "ok":
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"dashboard not healthy within {timeout_s:g}s: {log_path.read_text()[-3000:]}"
                )
            time.sleep(0.3)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 15)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(timeout=20)  # fmt: skip


def check_pages(
    base_url: str, out_dir: Path, chromium: str, timeout_s: float = 120.0
) -> list[PageCheck]:
    """Visit every page headless; wait until Streamlit is idle; collect what is shown; screenshot."""
    from playwright.sync_api import sync_playwright

    out_dir.mkdir(parents=True, exist_ok=True)
    checks: list[PageCheck] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            for path, name in PAGES.items():
                start = time.monotonic()
                url = f"{base_url}/{path}"
                page.goto(url, wait_until="domcontentloaded")
                page.wait_for_selector("h1", timeout=timeout_s * 1000)
                _wait_idle(page, timeout_s)
                if name in CHART_PAGES:
                    with contextlib.suppress(Exception):
                        page.wait_for_selector(".js-plotly-plot", timeout=timeout_s * 1000)
                    _wait_idle(page, timeout_s)
                shot = out_dir / f"{name}.png"
                page.screenshot(path=str(shot), full_page=True)
                checks.append(
                    PageCheck(
                        name=name,
                        url=url,
                        charts=page.locator(".js-plotly-plot").count(),
                        metrics=page.locator('[data-testid="stMetricValue"]').all_inner_texts(),
                        exceptions=page.locator('[data-testid="stException"]').all_inner_texts(),
                        errors=page.locator(
                            '[data-testid="stAlertContentError"]'
                        ).all_inner_texts(),
                        screenshot=shot,
                        seconds=time.monotonic() - start,
                    )
                )
        finally:
            browser.close()
    return checks


def _wait_idle(page: object, timeout_s: float) -> None:
    """Until Streamlit's 'running' status widget has gone (the script run finished)."""
    deadline = time.monotonic() + timeout_s
    time.sleep(0.5)
    while time.monotonic() < deadline:
        running = page.locator('[data-testid="stStatusWidget"]').count()  # type: ignore[attr-defined]
        if not running:
            time.sleep(0.5)  # let the last deltas paint (charts)
            if not page.locator('[data-testid="stStatusWidget"]').count():  # type: ignore[attr-defined]
                return
        time.sleep(0.2)


def copy_screenshots(checks: list[PageCheck], dest: Path) -> list[Path]:
    """Copy the screenshots to ``dest`` (e.g. ``docs/screenshots`` for the README)."""
    dest.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy2(c.screenshot, dest / f"dashboard_{c.name}.png")) for c in checks]
