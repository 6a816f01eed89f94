"""Image benchmark: size and build time of each image, and the serving image beside a plain pip.

Reads the build times ``scripts/build_images.sh`` recorded (build/images/build-times.tsv: one line
per build; the slowest is the first, uncached one, the last one usually reused cached layers), the image
sizes from the Docker daemon, and checks on the BUILT serving image that the training stack
(torch, xgboost, lightgbm, scikit-learn) and the pipeline's extras (Prefect, Plotly, DVC) are
absent. Then installs the API the plain way (``pip install ./01_data_pipeline
./04_mlop_api`` with the constraints, in a fresh virtualenv) and compares its size with the
image's virtualenv.

Targets: the serving image free of the training stack and <= 450 MB; its virtualenv no bigger than
a plain pip install of the same packages (the image adds only the base and params.yaml).

    python bench/images.py [--no-pip]      (make bench-images; run by make test-images)
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMES = ROOT / "build/images/build-times.tsv"
REGISTRY = os.environ.get("IMAGE_REGISTRY", "ghcr.io/edip")
TAG = os.environ.get("IMAGE_TAG", "latest")
NAMES = ("edip-api", "edip-dashboard", "edip-mlflow", "edip-flows")
TRAINING_STACK = ("torch", "xgboost", "lightgbm", "sklearn", "prefect", "plotly", "dvc", "mlflow")
API_TARGET_MB = 450
MB = 1_000_000


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout


def build_times() -> dict[str, list[float]]:
    """Seconds of every recorded build, per image, in build order."""
    out: dict[str, list[float]] = {}
    if TIMES.is_file():
        with TIMES.open() as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                out.setdefault(row["image"], []).append(float(row["seconds"]))
    return out


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def plain_pip_install() -> tuple[int, float]:
    """Bytes of a fresh virtualenv with the API installed by plain pip, and the install time."""
    with tempfile.TemporaryDirectory(prefix="edip-pip-") as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        start = time.monotonic()
        proc = subprocess.run(
            [str(venv / "bin/pip"), "install", "--quiet", "-c",
             str(ROOT / "requirements/constraints.txt"),
             str(ROOT / "01_data_pipeline"), str(ROOT / "04_mlop_api")],
            capture_output=True,
            text=True,
        )  # fmt: skip
        if proc.returncode != 0:
            raise RuntimeError(f"pip install failed:\n{proc.stderr[-3000:]}")
        return dir_bytes(venv), time.monotonic() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-pip", action="store_true", help="skip the plain pip install")
    args = parser.parse_args()
    if shutil.which("docker") is None:
        print("no docker client: nothing to measure")  # noqa: T201
        return 1
    times = build_times()
    report: dict[str, dict[str, float | None]] = {}
    print(f"{'image':<16} {'size MB':>8} {'slowest build s':>16} {'last build s':>13}")  # noqa: T201
    for name in NAMES:
        image = f"{REGISTRY}/{name}:{TAG}"
        size = int(docker("image", "inspect", "-f", "{{.Size}}", image).strip())
        runs = times.get(name, [])
        cold, last = (max(runs), runs[-1]) if runs else (None, None)
        report[name] = {"size_mb": size / MB, "cold_build_s": cold, "last_build_s": last}
        cold_s = f"{cold:.0f}" if cold is not None else "-"
        last_s = f"{last:.0f}" if last is not None else "-"
        print(f"{name:<16} {size / MB:>8.0f} {cold_s:>16} {last_s:>13}")  # noqa: T201
    api = f"{REGISTRY}/edip-api:{TAG}"
    probe = f"import importlib.util as u; print([m for m in {TRAINING_STACK!r} if u.find_spec(m)])"
    found = docker("run", "--rm", "--entrypoint", "python", api, "-c", probe).strip()
    venv_bytes = int(
        docker("run", "--rm", "--entrypoint", "du", api, "-sb", "/opt/venv").split()[0]
    )
    base = docker("image", "inspect", "-f", "{{.Size}}", "python:3.11-slim").strip()
    api_mb = report["edip-api"]["size_mb"] or 0.0
    verdict = "met" if api_mb <= API_TARGET_MB else "missed"
    print(f"serving image: {api_mb:.0f} MB, target <= {API_TARGET_MB} MB {verdict}")  # noqa: T201
    print(f"serving image: training stack found: {found}; /opt/venv {venv_bytes / MB:.0f} MB")  # noqa: T201
    print(f"base image python:3.11-slim: {int(base) / MB:.0f} MB")  # noqa: T201
    result: dict[str, object] = {"images": report, "api_training_stack": found}
    result["api_venv_mb"] = venv_bytes / MB
    if not args.no_pip:
        pip_bytes, pip_s = plain_pip_install()
        print(  # noqa: T201
            f"plain pip install of the API (fresh venv): {pip_bytes / MB:.0f} MB in {pip_s:.0f} s"
            f"  vs image venv {venv_bytes / MB:.0f} MB, whole image {report['edip-api']['size_mb']:.0f} MB"
        )
        result["plain_pip_mb"] = pip_bytes / MB
    (ROOT / "build/images").mkdir(parents=True, exist_ok=True)
    (ROOT / "build/images/bench.json").write_text(json.dumps(result, indent=2))
    return 0 if found == "[]" else 1


if __name__ == "__main__":
    sys.exit(main())
