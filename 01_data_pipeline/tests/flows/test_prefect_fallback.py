"""With no Prefect server configured, a command succeeds even when the temporary one cannot start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def test_ingest_falls_back_when_the_temporary_server_does_not_start(tmp_path: Path) -> None:
    """A start-up budget of 0 s stands in for a machine too busy to start the server in time."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        EDIP_DATA_DIR=str(tmp_path / "data"),
        EDIP_NO_PLUGINS="1",
        PREFECT_HOME=str(tmp_path / "prefect"),
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="0",
        COLUMNS="200",
    )
    out = subprocess.run(
        [sys.executable, "-m", "edip_pipeline.cli", "ingest", "--source", "sample"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-3000:]
    assert "Traceback" not in text
    warnings = [line for line in text.splitlines() if "without Prefect" in line]
    assert len(warnings) == 1, text[-3000:]
    assert (tmp_path / "data" / "manifest.json").is_file()


def test_no_prefect_is_the_plain_function() -> None:
    from edip_pipeline.flows import EPHEMERAL_STARTUP_S, flow_runner
    from edip_pipeline.flows.ingest import ingest_flow

    assert flow_runner(ingest_flow, prefect=False) is ingest_flow.fn
    assert EPHEMERAL_STARTUP_S >= 60
