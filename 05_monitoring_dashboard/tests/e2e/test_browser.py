"""A real browser (Debian Chromium via Playwright) on `edip dashboard` as a real process."""

from __future__ import annotations

from pathlib import Path

import pytest

from edip_testkit.browser import (
    CHART_PAGES,
    PAGES,
    check_pages,
    chromium_path,
    copy_screenshots,
)

from ..platform import Platform

REPO = Path(__file__).resolve().parents[3]
CHROMIUM = chromium_path()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary (run `make setup-browser`): browser tests skipped"
)


def test_every_page_in_a_browser(platform: Platform, tmp_path: Path) -> None:
    pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    from edip_testkit.browser import running_dashboard
    from edip_testkit.platform import free_port

    out = REPO / "reports" / "screenshots"
    assert CHROMIUM is not None
    with running_dashboard(platform.api_url, free_port(), tmp_path / "dashboard.log") as url:
        checks = check_pages(url, out, CHROMIUM)
    assert [c.name for c in checks] == list(PAGES.values())
    for check in checks:
        assert check.exceptions == [], (check.name, check.exceptions)
        if check.name != "alerts":  # the alerts page shows critical alerts as error boxes
            assert check.errors == [], (check.name, check.errors)
        assert check.screenshot.stat().st_size > 10_000, check.name
        if check.name in CHART_PAGES:
            assert check.charts >= 1, check.name
    by_name = {c.name: c for c in checks}
    # numbers rendered: the 7-day MAPE headline is a percentage (it follows the loop's status
    # metrics, "—" here: this platform ran no loop), the health page counts datasets
    now = by_name["now"].metrics
    assert any(m.endswith("%") for m in now), now
    assert by_name["data_health"].metrics[0] == "3"
    assert by_name["performance"].charts >= 4
    assert by_name["drift"].charts == 4
    (out / "timings.txt").write_text(
        "".join(f"{c.name}\t{c.seconds:.1f}s\t{c.charts} charts\n" for c in checks)
    )
    # the README's own screenshots (docs/screenshots) come from `make screenshots` on a platform
    # the loop ran on; a test run must not overwrite them with its loop-less platform's pages
    copied = copy_screenshots(checks, tmp_path / "screenshots")
    assert sorted(p.name for p in copied) == sorted(f"dashboard_{c.name}.png" for c in checks)
    assert all(
        p.stat().st_size == c.screenshot.stat().st_size for p, c in zip(copied, checks, strict=True)
    )
