"""What the loop's end-to-end scenarios share: one real Prefect server per pytest process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def prefect_api_url() -> Iterator[str]:
    """The real Prefect engine and API on a throw-away SQLite database, started once per process
    (worker) and shared by the scenarios (``test_loop``, ``test_faults``,
    ``test_backtest_equals_served``): nothing of the loop reads Prefect's own records back (the
    simulator keeps its progress under the data directory), so each scenario's flow runs need no
    server of their own; a start costs seconds of CPU on the 2 cores."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield str(PREFECT_API_URL.value())
