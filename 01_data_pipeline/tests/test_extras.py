"""An install without an extra: the module that needs it fails saying which extra to install.

Each case runs a fresh interpreter in which the extra's package cannot be imported (a meta path
finder refuses it, as if pip had never installed it), then imports our module the way a slim
install (the serving image) would.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

BLOCK = """
import importlib.abc, sys
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {packages!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, Absent())
"""


def run_without(*packages: str, code: str) -> subprocess.CompletedProcess[str]:
    script = BLOCK.format(packages=packages) + code
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("package", "module", "extra"),
    [
        ("prefect", "edip_pipeline.flows.ingest", "flows"),
        ("plotly", "edip_pipeline.eda", "eda"),
        ("entsoe", "edip_pipeline.sources.entsoe", "sources"),
    ],
)
def test_a_missing_extra_names_the_install_line(package: str, module: str, extra: str) -> None:
    proc = run_without(package, code=f"import {module}")
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("edip_pipeline.extras.MissingExtraError: "), proc.stderr[-2000:]
    assert f"pip install 'edip-pipeline[{extra}]'" in last
    assert f"{package} is not installed" in last


def test_onnx_runner_without_onnxruntime_names_the_extra() -> None:
    code = (
        "from edip_pipeline.contract import OnnxForecaster\n"
        "try:\n    OnnxForecaster(b'')\n"
        "except ImportError as exc:\n    print(exc)\n"
    )
    proc = run_without("onnxruntime", code=code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "pip install 'edip-pipeline[onnx]'" in proc.stdout


def test_the_store_reader_and_features_need_no_extra() -> None:
    # what the serving image imports from the pipeline, with every extra's package absent
    code = "\n".join(
        [
            "import edip_pipeline.store, edip_pipeline.features, edip_pipeline.contract",
            "import edip_pipeline.cli, edip_pipeline.integrity, edip_pipeline.status",
            "print('ok')",
        ]
    )
    proc = run_without("prefect", "plotly", "entsoe", "onnxruntime", "dvc", code=code)
    assert proc.stdout.strip() == "ok", proc.stderr[-2000:]
