"""End to end, the path ``make demo`` takes, on a shortened period, through the real ``edip`` CLI.

ingest (sample) → features → train ml (one small LightGBM) → promote → train dl (one TCN epoch)
→ promote (the gate decides) → ``edip serve`` → ``edip replay`` of five days → the dashboard's Now
page on what the API logged. Only the Prefect server is left out (flows run with ``--no-prefect``;
the flow runs themselves are tested in the pipeline package) and the models are kept tiny.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from edip_dashboard.config import reset_settings_cache

from .. import platform
from ..apptest import APP

NOW = "2020-12-25T00:00:00+01:00"


def edip(args: list[str], env: dict[str, str], cwd: Path, timeout_s: float = 600) -> str:
    """Run one ``edip`` command like a user would; its output, or a failure showing it."""
    done = subprocess.run(
        [sys.executable, "-m", "edip_pipeline.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    assert done.returncode == 0, f"edip {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.slow
def test_the_demo_path_on_a_short_period(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    testing = platform.testing_module()
    data_dir = tmp_path / "data"
    server = testing.start_mlflow(tmp_path / "mlflow")
    try:
        env = {
            **os.environ,
            "EDIP_DATA_DIR": str(data_dir),
            "EDIP_PARAMS_FILE": str(testing.repo_root() / "params.yaml"),
            "MLFLOW_TRACKING_URI": server.url,
            "PYTHONUNBUFFERED": "1",
        }
        edip(["ingest", "--source", "sample", "--no-prefect"], env, tmp_path)
        edip(["features", "--no-prefect"], env, tmp_path)
        common = ["--end", "2020-11-30", "--backtest-days", "7"]
        ml = edip(
            ["train", "ml", "--models", "lightgbm", "--param", "lightgbm.n_estimators=40", *common],
            env,
            tmp_path,
        )
        assert "lightgbm: backtest MAPE" in ml
        assert "version 1" in ml
        assert "promoted" in edip(["promote"], env, tmp_path)
        dl = edip(
            [
                "train",
                "dl",
                "--models",
                "tcn",
                "--epochs",
                "1",
                "--param",
                "tcn.batch_size=64",
                *common,
            ],
            env,
            tmp_path,
        )
        assert "tcn: backtest MAPE" in dl
        assert "version 2" in dl
        decision = edip(["promote"], env, tmp_path)
        assert "challenger v2" in decision
        assert "champion v1" in decision

        with testing.sample_store(data_dir) as store:  # the store the CLI filled
            api_env = testing.platform_env(store, None, replay_now=NOW)
            api_env.update({"MLFLOW_TRACKING_URI": server.url})
            with testing.running_api(api_env) as api:
                edip(
                    [
                        "replay",
                        "--start",
                        "2020-12-20",
                        "--end",
                        "2020-12-24",
                        "--api-url",
                        api.url,
                        "--api-key",
                        api_env["EDIP_API_KEY"],
                    ],
                    env,
                    tmp_path,
                )
                ready = httpx.get(f"{api.url}/ready", timeout=30).json()
                assert ready["model"]["source"] == "registry"
                champion = ready["model"]["version"]
                assert champion in {"1", "2"}  # whichever the gate kept
                summary = httpx.get(
                    f"{api.url}/v1/metrics/summary", params={"window": "7d"}, timeout=30
                ).json()
                served = {(m["model_version"], m["n"]) for m in summary["models"]}
                assert any(v == champion and n >= 5 * 23 for v, n in served), summary

                monkeypatch.setenv("EDIP_API_URL", api.url)
                reset_settings_cache()
                st.cache_data.clear()  # nothing cached from another API in this process
                at = AppTest.from_file(str(APP), default_timeout=120)
                at.run()
                assert not at.exception, [e.value for e in at.exception]
                assert any("MAPE" in m.label for m in at.metric), [m.label for m in at.metric]
    finally:
        server.stop()


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(pytest.main([__file__, "-q"]))
