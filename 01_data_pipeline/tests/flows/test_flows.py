"""The real Prefect flows against a temporary Prefect server (``prefect_test_harness``).

Only the ODRÉ API is replaced, by a local pytest-httpserver serving hand-written export rows.
"""

from __future__ import annotations

import json
from uuid import UUID

import numpy as np
import pandas as pd
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun, StateType, TaskRun
from pytest_httpserver import HTTPServer

from edip_pipeline.config import Settings
from edip_pipeline.flows.backfill import backfill_flow, checkpoint_path
from edip_pipeline.flows.build_features import build_features_flow
from edip_pipeline.flows.ingest import ingest_flow
from edip_pipeline.ingest import IngestReport, ingest_dataset
from edip_pipeline.sources.sample import SAMPLE_DATASET
from edip_pipeline.store import Store

from .conftest import FakeExports, national_record

pytestmark = pytest.mark.usefixtures("prefect_server")

SAMPLE_PLAN = [("sample", SAMPLE_DATASET)]


def flow_run(run_id: UUID | None) -> tuple[FlowRun, str, list[TaskRun]]:
    """A flow run as the Prefect API recorded it: the run, its flow's name and its task runs."""
    assert run_id is not None
    with get_client(sync_client=True) as client:
        ident = FlowRunFilter(id=FlowRunFilterId(any_=[run_id]))
        [run] = client.read_flow_runs(flow_run_filter=ident)
        name = client.read_flow(run.flow_id).name
        tasks = client.read_task_runs(flow_run_filter=ident)
    return run, name, tasks


def api_counts() -> tuple[int, int]:
    with get_client(sync_client=True) as client:
        return len(client.read_flow_runs()), len(client.read_task_runs())


def test_ingest_flow_is_recorded_completed(store: Store) -> None:
    state = ingest_flow(plan=SAMPLE_PLAN, return_state=True)
    assert state.is_completed()
    reports: list[IngestReport] = state.result()
    [report] = reports
    assert report.ok, report.error
    assert report.writes[0].dataset == "load_national"
    assert report.writes[0].version == 1
    assert store.manifest()["datasets"]["load_national"]["rows"] == 3 * (365 + 366) * 48

    run, flow_name, tasks = flow_run(state.state_details.flow_run_id)
    assert flow_name == "ingest"
    assert run.state is not None
    assert run.state.type == StateType.COMPLETED
    assert run.parameters["plan"] == [list(p) for p in SAMPLE_PLAN]
    [task] = tasks
    assert task.name == f"ingest-sample-{SAMPLE_DATASET}"
    assert task.state is not None
    assert task.state.type == StateType.COMPLETED


def test_flow_fn_runs_without_prefect(store: Store) -> None:
    """``--no-prefect`` calls ``flow.fn``: nothing is recorded, no task run either."""
    before = api_counts()
    [report] = ingest_flow.fn(plan=SAMPLE_PLAN)
    assert report.ok, report.error
    assert store.manifest()["datasets"]["load_national"]["version"] == 1
    assert api_counts() == before


def test_backfill_stops_at_a_failing_chunk_then_resumes(
    odre_env: Settings, httpserver: HTTPServer, store: Store
) -> None:
    dataset = "eco2mix-national-cons-def"
    stamps = pd.date_range("2023-05-31T22:00", "2023-06-09T22:00", freq="15min", tz="UTC")[:-1]
    values = 52_000 + 6_000 * np.sin(np.arange(len(stamps)) * 2 * np.pi / 96)
    fake = FakeExports(
        httpserver, dataset, [national_record(t, v) for t, v in zip(stamps, values, strict=True)]
    )
    # three 3-day chunks, each one /exports/json call: 1 = June 1-3, 2 = June 4-6, 3 = June 7-9
    starts = ["2023-05-31T22:00:00+00:00", "2023-06-03T22:00:00+00:00", "2023-06-06T22:00:00+00:00"]
    ends = [*starts[1:], "2023-06-09T22:00:00+00:00"]
    keys = [f"{a}/{b}" for a, b in zip(starts, ends, strict=True)]
    fake.broken.add(starts[1])  # HTTP 500, whatever the number of retries
    kwargs = {"source": "odre", "dataset": dataset, "start": "2023-06-01", "end": "2023-06-10"}

    state = backfill_flow(**kwargs, chunk_days=3, return_state=True)
    reports: list[IngestReport] = state.result()
    assert [r.ok for r in reports] == [True, False]  # stopped: chunk 3 never tried
    assert "HTTP 500" in (reports[1].error or "")
    assert dataset in (reports[1].error or "")
    requested = [fake.window(req)[0].isoformat() for req, _ in httpserver.log]
    assert requested[0] == starts[0]
    assert set(requested[1:]) == {starts[1]}  # the retries, all on chunk 2
    assert len(requested) == 1 + odre_env.http_max_attempts
    ckpt = checkpoint_path(store, "odre", dataset)
    assert json.loads(ckpt.read_text())["done"] == [keys[0]]
    cons = store.series("load_national", "consumption_mw")
    assert cons.index.min() == pd.Timestamp(starts[0])
    assert cons.index.max() == pd.Timestamp(starts[1]) - pd.Timedelta("30min")
    run, flow_name, tasks = flow_run(state.state_details.flow_run_id)
    assert flow_name == "backfill"
    assert run.parameters["chunk_days"] == 3
    assert sorted(t.name for t in tasks) == [f"chunk-{s}" for s in starts[:2]]

    # the publisher is back: the re-run skips chunk 1 and fetches only chunks 2 and 3
    fake.broken.clear()
    httpserver.clear_log()
    reports = backfill_flow(**kwargs, chunk_days=3)
    assert [r.ok for r in reports] == [True, True]
    assert [r.start for r in reports] == starts[1:]
    assert [fake.window(req)[0].isoformat() for req, _ in httpserver.log] == starts[1:]
    assert json.loads(ckpt.read_text())["done"] == keys

    rows = store.read("load_national", variables=["consumption_mw"])
    expected = stamps[::2]  # :00 and :30 only
    assert rows["timestamp"].tolist() == expected.tolist()
    np.testing.assert_array_equal(rows["value"].to_numpy(), values[::2].astype(int))
    assert (rows["flags"] == 0).all()
    assert len(store.read("load_national")) == 3 * len(expected)  # with D-1 and D forecasts

    # everything done: a third run fetches nothing
    httpserver.clear_log()
    assert backfill_flow(**kwargs, chunk_days=3) == []
    assert httpserver.log == []


def test_build_features_flow_writes_the_table(store: Store) -> None:
    assert ingest_dataset("sample", SAMPLE_DATASET, store=store).ok
    state = build_features_flow(start="2020-11-01", end="2020-11-30", return_state=True)
    assert state.is_completed()
    path = state.result()
    assert path == store.processed_dir / "features_day_ahead.parquet"
    table = pd.read_parquet(path)
    assert len(table) == 30 * 24
    assert table["target_time"].is_unique
    assert (store.processed_dir / "features_day_ahead.json").is_file()
    _, flow_name, [task] = flow_run(state.state_details.flow_run_id)
    assert flow_name == "build_features"
    assert task.state is not None
    assert task.state.type == StateType.COMPLETED


def test_a_failed_flow_run_is_one_line_on_the_console(store: Store) -> None:
    """`edip features --start 2030-01-01` through Prefect used to print Prefect's traceback (and
    Typer's); the command prints one error line, Prefect keeps the trace of its run."""
    import os
    import subprocess
    import sys

    from prefect.settings import PREFECT_API_URL

    assert ingest_dataset("sample", SAMPLE_DATASET, store=store).ok
    env = {**os.environ, "EDIP_DATA_DIR": str(store.root), "PREFECT_API_URL": PREFECT_API_URL.value(),
           "EDIP_NO_PLUGINS": "1", "COLUMNS": "200"}  # fmt: skip
    cmd = [sys.executable, "-m", "edip_pipeline.cli", "features", "--start", "2030-01-01"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "Traceback" not in out
    errors = [ln for ln in out.splitlines() if ln.startswith("error:")]
    assert errors == ["error: ValueError: end_day 2020-12-31 is before start_day 2030-01-01"], out
    verbose = subprocess.run([*cmd[:3], "-v", *cmd[3:]], env=env, capture_output=True, text=True,
                             timeout=300)  # fmt: skip
    assert "Traceback" in verbose.stdout + verbose.stderr
