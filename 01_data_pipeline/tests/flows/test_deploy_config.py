"""prefect.yaml and the `serve` deployments describe the same schedules and real datasets."""

from __future__ import annotations

from pathlib import Path

import yaml

from edip_pipeline.flows import deploy
from edip_pipeline.ingest import datasets_for

ROOT = Path(__file__).resolve().parents[3]


def test_prefect_yaml_matches_serve_plans() -> None:
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    by_name = {d["name"]: d for d in spec["deployments"]}
    assert [tuple(p) for p in by_name["ingest-realtime-hourly"]["parameters"]["plan"]] == (
        deploy.REALTIME_PLAN
    )
    assert [tuple(p) for p in by_name["ingest-consolidated-daily"]["parameters"]["plan"]] == (
        deploy.CONSOLIDATED_PLAN
    )
    for d in spec["deployments"]:
        path, func = d["entrypoint"].split(":")
        assert (ROOT / path).is_file()
        assert f"def {func}(" in (ROOT / path).read_text()


def test_every_planned_dataset_exists() -> None:
    for source, dataset in deploy.REALTIME_PLAN + deploy.CONSOLIDATED_PLAN:
        assert datasets_for(source, dataset) == [dataset]
