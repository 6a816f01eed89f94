"""The registry read over MLflow's REST API answers what the MLflow client answers, against the
real server of the session (artifacts proxied, as every EDIP deployment runs it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient

from edip_api.services import registry as registry_module
from edip_api.services.registry import RegistryError, RegistryReader
from edip_testkit.platform import Registry


def test_versions_runs_and_aliases_match_the_mlflow_client(registry: Registry) -> None:
    reader = RegistryReader(registry.url, timeout_s=10)
    client = MlflowClient(registry.url)
    name = registry.model_name
    expected = client.get_model_version_by_alias(name, "champion")
    mv = reader.version_by_alias(name, "champion")
    assert (mv.name, mv.version, mv.run_id) == (name, str(expected.version), expected.run_id)
    assert mv.tags == expected.tags
    assert mv.creation_timestamp == expected.creation_timestamp
    assert reader.version(name, mv.version) == mv
    aliases = client.get_registered_model(name).aliases
    assert reader.aliases(name) == {k: str(v) for k, v in aliases.items()}
    assert reader.aliases(name)["champion"] == mv.version
    run = client.get_run(expected.run_id)
    data = reader.run(mv.run_id or "")
    assert data.metrics == pytest.approx(run.data.metrics)
    assert (data.params, data.tags) == (run.data.params, run.data.tags)


def test_version_list_follows_every_page(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    mlflow.set_tracking_uri(registry.url)
    mlflow.set_registry_uri(registry.url)
    name = "edip-registry-pages"
    source = MlflowClient(registry.url).get_model_version(
        registry.model_name, registry.champion_version
    )
    for _ in range(3):
        mlflow.register_model(source.source, name)
    monkeypatch.setattr(registry_module, "PAGE", 2)
    found = RegistryReader(registry.url, timeout_s=10).versions(name)
    assert sorted(int(mv.version) for mv in found) == [1, 2, 3]


def test_onnx_artifact_is_the_one_the_mlflow_client_downloads(
    registry: Registry, tmp_path: Path
) -> None:
    import mlflow

    mlflow.set_tracking_uri(registry.url)
    local = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{registry.model_name}/{registry.champion_version}",
            dst_path=str(tmp_path),
        )
    )
    expected = sorted(local.rglob("*.onnx"))
    reader = RegistryReader(registry.url, timeout_s=10)
    files = reader.artifact_files(registry.model_name, registry.champion_version, ".onnx")
    assert [rel for rel, _ in files] == [str(p.relative_to(local)) for p in expected]
    assert files[0][1] == expected[0].read_bytes()
    assert reader.artifact_files(registry.model_name, registry.champion_version, ".nothing") == []


def test_local_artifacts_are_read_from_disk(tmp_path: Path) -> None:
    (tmp_path / "onnx").mkdir()
    (tmp_path / "onnx/model.onnx").write_bytes(b"graph")
    (tmp_path / "MLmodel").write_text("flavors: {}")
    reader = RegistryReader("http://127.0.0.1:9", timeout_s=1)
    assert reader._read_tree(tmp_path.as_uri(), ".onnx") == [("onnx/model.onnx", b"graph")]
    assert reader._read_tree(str(tmp_path / "onnx/model.onnx"), ".onnx") == [
        ("model.onnx", b"graph")
    ]
    with pytest.raises(RegistryError, match="serve-artifacts"):
        reader._read_tree("s3://bucket/model", ".onnx")


def test_errors_say_what_the_registry_said(registry: Registry) -> None:
    with pytest.raises(RegistryError, match="RESOURCE_DOES_NOT_EXIST"):
        RegistryReader(registry.url, timeout_s=10).version_by_alias("edip-no-such-model", "x")
    with pytest.raises(RegistryError, match="unreachable"):
        RegistryReader("http://127.0.0.1:9", timeout_s=1).version_by_alias("m", "champion")
