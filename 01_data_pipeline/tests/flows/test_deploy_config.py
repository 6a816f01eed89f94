"""prefect.yaml and the `serve` deployments describe the same schedules and real datasets."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from edip_pipeline.config import reset_settings_cache
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


def test_entsoe_joins_the_hourly_plan_only_with_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDIP_ENTSOE_TOKEN", raising=False)
    reset_settings_cache()
    assert deploy.realtime_plan() == deploy.REALTIME_PLAN
    monkeypatch.setenv("EDIP_ENTSOE_TOKEN", "t")
    reset_settings_cache()
    try:
        assert deploy.realtime_plan() == deploy.REALTIME_PLAN + deploy.ENTSOE_PLAN
        for source, dataset in deploy.ENTSOE_PLAN:
            assert datasets_for(source, dataset) == [dataset]
    finally:
        reset_settings_cache()
