"""``dvc repro`` of the repository's pipeline, offline on the bundled sample, in a scratch copy.

The scratch directory holds the repository's ``dvc.yaml``, ``params.yaml`` and ``.dvc/config`` and
copies of the source paths the stages depend on (same relative paths); the stage commands run the
installed ``edip`` from the virtualenv.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from .conftest import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

BIN = Path(sys.executable).parent


def dvc(workdir: Path, env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(
        [str(BIN / "dvc"), *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"dvc {' '.join(args)} failed:\n{output}"
    return output


@pytest.fixture
def workdir(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    if not (BIN / "dvc").is_file() or not (BIN / "edip").is_file():
        pytest.skip(f"dvc and edip must be installed in {BIN}")
    work = tmp_path / "repo"
    work.mkdir()
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy2(REPO_ROOT / name, work / name)
    stages = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"]
    code_deps = {
        dep
        for stage in stages.values()
        for dep in stage.get("deps", [])
        if isinstance(dep, str) and dep.startswith("01_data_pipeline/")
    }
    assert code_deps, "dvc.yaml lists no code dependency"
    for dep in sorted(code_deps):
        src, dst = REPO_ROOT / dep, work / dep
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dst)
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "EDIP_DATA_DIR": str(work / "data"),
        "EDIP_PARAMS_FILE": str(work / "params.yaml"),
        "DVC_NO_ANALYTICS": "1",
    }
    dvc(work, env, "init", "--no-scm", "-q")
    # the repository's DVC config, plus no_scm: the scratch copy is not a git repository
    config = (REPO_ROOT / ".dvc" / "config").read_text()
    assert "[core]" in config
    (work / ".dvc" / "config").write_text(config.replace("[core]", "[core]\n    no_scm = true", 1))
    return work, env


def test_dvc_repro_offline_on_the_sample(workdir: tuple[Path, dict[str, str]]) -> None:
    work, env = workdir
    data = work / "data"

    out = dvc(work, env, "repro", "features")  # the pipeline's stages; training stages need MLflow
    assert "Running stage 'ingest'" in out
    assert "Running stage 'features'" in out
    lock = yaml.safe_load((work / "dvc.lock").read_text())
    assert set(lock["stages"]) == {"ingest", "features"}
    features = data / "processed" / "features_day_ahead.parquet"
    assert features.is_file()
    table = pd.read_parquet(features)
    params = yaml.safe_load((work / "params.yaml").read_text())
    fp = params["features"]
    assert fp["start"] is None and fp["end"] is None  # the normal path: the stored range
    # from the first day with the full 15-day look-back after 2019-01-01 to the last stored day
    targets = pd.DatetimeIndex(table["target_time"]).tz_convert("Europe/Paris")
    assert targets.min() == pd.Timestamp("2019-01-17", tz="Europe/Paris")
    assert targets.max() == pd.Timestamp("2020-12-31 23:00", tz="Europe/Paris")
    days = (pd.Timestamp("2020-12-31") - pd.Timestamp("2019-01-17")).days + 1
    assert len(table) == days * 24  # every target hour of the range
    assert (data / "interim" / "load_national" / "year=2020" / "part.parquet").is_file()
    assert (data / "raw").is_dir()
    lag_columns = sorted(c for c in table.columns if "lag" in c)
    assert lag_columns

    # nothing changed: nothing runs
    out = dvc(work, env, "repro", "features")  # the pipeline's stages; training stages need MLflow
    assert "Data and pipelines are up to date" in out
    assert "Running stage" not in out

    # a feature knob re-runs the features stage only
    manifest = (data / "manifest.json").read_bytes()
    partitions = {p: p.read_bytes() for p in (data / "interim").rglob("*.parquet")}
    fp["lag_days"] = [1, 7]
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    out = dvc(work, env, "repro", "features")  # the pipeline's stages; training stages need MLflow
    assert "Stage 'ingest' didn't change, skipping" in out
    assert "Running stage 'ingest'" not in out
    assert "Running stage 'features'" in out
    assert (data / "manifest.json").read_bytes() == manifest
    assert {p: p.read_bytes() for p in (data / "interim").rglob("*.parquet")} == partitions
    lock = yaml.safe_load((work / "dvc.lock").read_text())
    assert lock["stages"]["features"]["params"]["params.yaml"]["features"]["lag_days"] == [1, 7]
    rebuilt = sorted(c for c in pd.read_parquet(features).columns if "lag" in c)
    assert rebuilt != lag_columns
    assert len(rebuilt) < len(lag_columns)
