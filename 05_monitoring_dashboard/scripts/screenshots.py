"""README screenshots of the dashboard: a real platform (or a running API), a real Chromium.

    .venv/bin/python 05_monitoring_dashboard/scripts/screenshots.py              # starts everything
    .venv/bin/python 05_monitoring_dashboard/scripts/screenshots.py --api-url http://127.0.0.1:8000

Without ``--api-url`` it starts the sample store, MLflow with a champion trained to 2020-11-30 and
``edip serve`` (``edip_testkit.platform``), replays 2020-12-13..2020-12-24, then starts ``edip dashboard``
and saves every page to ``reports/screenshots/`` and ``docs/screenshots/dashboard_<page>.png``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from edip_testkit.browser import (
    check_pages,
    chromium_path,
    copy_screenshots,
    running_dashboard,
)

log = logging.getLogger("screenshots")
REPO = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def platform_api(root: Path, start: str, end: str) -> Iterator[str]:
    from edip_api.replay import run_replay
    from edip_testkit import platform as testing

    with (
        testing.sample_store(root / "data") as store,
        testing.mlflow_with_champion(root / "mlflow", store) as registry,
    ):
        env = testing.platform_env(
            store, registry, root / "edip_log.db", replay_now=f"{end}T23:59:00+01:00"
        )
        with testing.running_api(env) as api, api.client() as client:
            log.info(run_replay(client, store, start, end).summary())
            from edip_testkit.explained import issue_explained

            day = pd.Timestamp(end) + pd.Timedelta(days=1)  # the Why page's default day
            for d in (day, day - pd.Timedelta(days=7)):
                issue_explained(api, registry, store, str(d.date()))
            yield api.url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-url", help="Use this running API instead of starting one.")
    parser.add_argument("--start", default="2020-12-13", help="First replayed day.")
    parser.add_argument("--end", default="2020-12-24", help="Last replayed day.")
    parser.add_argument("--port", type=int, default=8599, help="Dashboard port.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    chromium = chromium_path()
    if chromium is None:
        raise SystemExit("no chromium binary: run `make setup-browser`")
    with tempfile.TemporaryDirectory(prefix="edip-shots-") as tmp:
        api = (
            contextlib.nullcontext(args.api_url)
            if args.api_url
            else platform_api(Path(tmp), args.start, args.end)
        )
        with (
            api as api_url,
            running_dashboard(api_url, args.port, Path(tmp) / "dashboard.log") as url,
        ):
            checks = check_pages(url, REPO / "reports" / "screenshots", chromium)
    for path, check in zip(
        copy_screenshots(checks, REPO / "docs" / "screenshots"), checks, strict=True
    ):
        log.info(
            "%s: %d chart(s), %.1fs, exceptions %d → %s",
            check.name,
            check.charts,
            check.seconds,
            len(check.exceptions),
            path,
        )


if __name__ == "__main__":
    main()
