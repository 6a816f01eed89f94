"""The loop's deployments: ``prefect.yaml`` and ``edip flows serve`` describe the same schedules."""

from __future__ import annotations

from pathlib import Path

import yaml

from edip_ml.live.config import LiveSettings
from edip_ml.live.deployments import loop_jobs

ROOT = Path(__file__).resolve().parents[3]


def test_prefect_yaml_has_every_loop_job_with_its_default_schedule() -> None:
    spec = {
        d["name"]: d for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    }
    for job in loop_jobs(LiveSettings()):
        d = spec[job.name]
        assert d["schedules"] == [{"cron": job.cron, "timezone": "Europe/Paris"}]
        path, func = d["entrypoint"].split(":")
        module, attr = job.entrypoint.split(":")
        assert path.endswith(module.replace(".", "/") + ".py")
        assert func == attr
        assert f"def {func}(" in (ROOT / path).read_text()


def test_flows_serve_builds_the_loop_deployments_with_paris_schedules() -> None:
    from edip_pipeline.flows.deploy import all_deployments

    built = {d.name: d for d in all_deployments()}
    for name in (
        "ingest-realtime-hourly",
        "issue-forecast",
        "issue-intraday",
        "sync-actuals",
        "update",
        "retrain",
        "alerts",
    ):
        assert name in built
        (schedule,) = built[name].schedules
        assert schedule.schedule.timezone == "Europe/Paris"
    assert built["issue-forecast"].schedules[0].schedule.cron == "0 12 * * *"
    assert built["issue-intraday"].schedules[0].schedule.cron == "0 6,9,12,15,18 * * *"


def test_the_issuance_retries_itself_as_a_served_deployment() -> None:
    """A served deployment re-imports the flow: its retries must be the decorator's."""
    from edip_ml.live.issue import issue_forecast_flow

    defaults = LiveSettings()
    assert issue_forecast_flow.retries == defaults.retries > 0
    assert issue_forecast_flow.retry_delay_seconds == defaults.retry_delay_min * 60


def test_the_alerts_flow_comes_from_its_declared_entry_point() -> None:
    from importlib.metadata import entry_points

    from edip_ml.live.deployments import LOOP_FLOWS_GROUP, contributed_flow

    [ep] = [e for e in entry_points(group=LOOP_FLOWS_GROUP) if e.name == "alerts"]
    assert ep.value == "edip_dashboard.flows:alerts_flow"
    flow = contributed_flow("alerts")
    assert flow is not None
    assert flow.name == "alerts"
    assert contributed_flow("no-such-flow") is None  # left out, with a warning
