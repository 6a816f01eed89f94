"""The serving install imports no training library (the models are ONNX graphs)."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("torch", "xgboost", "lightgbm", "edip_ml", "edip_dl", "sklearn")


def test_edip_api_imports_no_training_library() -> None:
    code = (
        "import json, sys\n"
        "import edip_api.main, edip_api.cli, edip_api.replay\n"
        "from edip_api.main import create_app\n"
        "create_app()\n"
        "import edip_api.services.model_manager as mm\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert not loaded & set(FORBIDDEN), loaded & set(FORBIDDEN)
    assert "edip_api" in loaded
    assert "fastapi" in loaded
