"""The model manager: champion swap under load, the fallback when the registry is down or the
artifact corrupt, and the online state the loop posts (applied at once, read back from the log
store on load and poll).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from mlflow import MlflowClient

from edip_api.api.routes.model import model_detail
from edip_api.core.config import Settings
from edip_api.main import create_app
from edip_api.schemas import ModelInfo
from edip_api.services.errors import ServiceError
from edip_api.services.model_manager import ModelManager, ServedModel
from edip_pipeline.config import FeatureParams
from edip_pipeline.contract import OnnxForecaster
from edip_pipeline.features import build_features
from edip_pipeline.online import LAST_DAY_KEY, KalmanEffects
from edip_pipeline.store import Store
from edip_testkit.platform import Registry, platform_env, running_api
from edip_testkit.synthetic import heating_rows

ORIGIN = "2020-12-10T12:00:00+01:00"


def _settings(store: Store, tmp_path: Path, **over: object) -> Settings:
    env = platform_env(store, None, tmp_path / "log.db")
    values: dict[str, object] = {
        "data_dir": store.root,
        "params_file": env["EDIP_PARAMS_FILE"],
        "database_url": env["EDIP_DATABASE_URL"],
        "mlflow_tracking_uri": env["MLFLOW_TRACKING_URI"],
        "replay_now": env["EDIP_REPLAY_NOW"],
        "log_spill_dir": tmp_path / "spill",
        "registry_timeout_s": 3,
    }
    values.update(over)
    return Settings(**values)


def _copy_version(client: MlflowClient, source_model: str, version: str, target: str) -> str:
    """A new version of ``target`` with the artifacts of ``source_model`` v``version``."""
    import mlflow

    mlflow.set_tracking_uri(client.tracking_uri)
    mlflow.set_registry_uri(client.tracking_uri)
    mv = client.get_model_version(source_model, version)
    new = mlflow.register_model(mv.source, target, tags=mv.tags)
    return str(new.version)


def _wait_ready(client: TestClient, timeout_s: float = 60.0) -> Any:
    """/ready once the start-up warm-up is done (503 ``warm: false`` until then)."""
    deadline = time.monotonic() + timeout_s
    ready = client.get("/ready")
    while ready.status_code != 200 and not ready.json().get("warm"):
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
        ready = client.get("/ready")
    return ready


def test_fallback_when_registry_down(store: Store, tmp_path: Path) -> None:
    app = create_app(_settings(store, tmp_path))
    with TestClient(app) as client:
        ready = _wait_ready(client)
        assert ready.status_code == 200
        model = ready.json()["model"]
        assert model["source"] == "fallback"
        assert model["name"] == "same_hour_last_week"
        assert model["version"] is None
        assert model["reason"]
        r = client.get("/v1/forecast", params={"origin": ORIGIN, "horizon": 24})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["model"]["source"] == "fallback"
        import pandas as pd

        o = pd.Timestamp(ORIGIN).tz_convert("UTC")
        ft = build_features(store, o, pd.date_range(o, periods=24, freq="1h"))
        expected = ft.frame["load_same_hour_last_week"].to_numpy()
        np.testing.assert_allclose([p["p50"] for p in body["points"]], expected)
        assert all(p["p10"] is None and p["p90"] is None for p in body["points"])
        assert "edip_fallback_in_use 1.0" in client.get("/metrics").text
        assert client.get("/v1/model/versions").status_code == 503
        assert client.get("/v1/model").json()["source"] == "fallback"


def test_fallback_when_artifact_corrupt(registry: Registry, store: Store, tmp_path: Path) -> None:
    import mlflow

    mlflow.set_tracking_uri(registry.url)
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"this is not an ONNX graph")
    mlflow.set_experiment("edip-api-corrupt")
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(bad), artifact_path="onnx")
    client = MlflowClient(registry.url)
    name = "edip-corrupt"
    client.create_registered_model(name)
    mv = client.create_model_version(name, f"runs:/{run.info.run_id}/onnx", run_id=run.info.run_id)
    client.set_registered_model_alias(name, "champion", mv.version)
    app = create_app(_settings(store, tmp_path, mlflow_tracking_uri=registry.url, model_name=name))
    with TestClient(app) as http:
        model = http.get("/ready").json()["model"]
        assert model["source"] == "fallback"
        assert "ONNX" in model["reason"] or "onnx" in model["reason"]
        r = http.get("/v1/forecast", params={"origin": ORIGIN, "horizon": 3})
        assert r.status_code == 200
        assert r.json()["model"]["source"] == "fallback"


def test_champion_swap_while_serving(registry: Registry, store: Store, tmp_path: Path) -> None:
    client = MlflowClient(registry.url)
    name = "edip-swap"
    v1 = _copy_version(client, registry.model_name, registry.champion_version, name)
    client.set_registered_model_alias(name, "champion", v1)
    env = platform_env(store, registry, tmp_path / "swap.db", poll_s=0.5, EDIP_MODEL_NAME=name)
    with running_api(env) as api:
        assert httpx.get(f"{api.url}/ready").json()["model"]["version"] == v1
        stop = threading.Event()
        statuses: list[int] = []
        versions: set[str] = set()

        def hammer(k: int) -> None:
            with httpx.Client(base_url=api.url, timeout=30, headers=api.headers) as c:
                i = 0  # with the key: not rate-limited
                while not stop.is_set():
                    day = 1 + (i + k) % 20
                    r = c.get(
                        "/v1/forecast",
                        params={"origin": f"2020-12-{day:02d}T12:00:00+01:00", "horizon": 24},
                    )
                    statuses.append(r.status_code)
                    if r.status_code == 200:
                        versions.add(r.json()["model"]["version"])
                    i += 1

        threads = [threading.Thread(target=hammer, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        v2 = _copy_version(client, registry.model_name, registry.champion_version, name)
        client.set_registered_model_alias(name, "champion", v2)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and v2 not in versions:
            time.sleep(0.2)
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join()
        assert versions == {v1, v2}
        assert statuses
        assert set(statuses) == {200}, {s for s in statuses if s != 200}
        assert httpx.get(f"{api.url}/ready").json()["model"]["version"] == v2
        metrics = httpx.get(f"{api.url}/metrics").text
        assert f'edip_model_info{{name="lightgbm",source="registry",version="{v2}"}} 1.0' in metrics


def test_no_lost_record_after_shutdown(registry: Registry, store: Store, tmp_path: Path) -> None:
    from edip_api.db import LogStore

    db = tmp_path / "shutdown.db"
    # answers that do not wait for their commit (EDIP_LOG_WAL off): rows still queued at the
    # stop, which must drain them (with it on, each answer waits for its group's commit)
    env = platform_env(
        store,
        registry,
        db,
        EDIP_LOG_FLUSH_INTERVAL_S="5",
        EDIP_LOG_BATCH_SIZE="100000",
        EDIP_LOG_WAL="false",
    )
    ids: list[str] = []
    with running_api(env) as api:
        with httpx.Client(base_url=api.url, timeout=30, headers=api.headers) as c:
            for day in range(1, 21):  # with the key: every answer is logged
                r = c.get(
                    "/v1/forecast",
                    params={"origin": f"2020-12-{day:02d}T12:00:00+01:00", "horizon": 48},
                )
                assert r.status_code == 200
                ids.append(r.json()["request_id"])
        depth = httpx.get(f"{api.url}/ready").json()["log_store"]["queue_depth"]
        api.stop()  # SIGTERM: uvicorn drains, then re-raises the signal (rc 0 or -15)
        assert api.process.returncode in (0, -15)
        assert "Application shutdown complete" in api.log_text()
    assert depth > 0  # records were still queued when the stop came (flush every 5 s)
    log_store = LogStore(f"sqlite:///{db}")
    try:
        assert log_store.count_predictions() == 20 * 48
        assert set(ids) <= log_store.request_ids()
    finally:
        log_store.dispose()


@pytest.mark.parametrize("model_name", ["no-such-model"])
def test_unknown_model_serves_fallback(
    registry: Registry, store: Store, tmp_path: Path, model_name: str
) -> None:
    app = create_app(
        _settings(store, tmp_path, mlflow_tracking_uri=registry.url, model_name=model_name)
    )
    with TestClient(app) as http:
        model = http.post("/v1/model/reload", headers={"X-API-Key": "edip-dev-key"}).json()
        assert model["source"] == "fallback"
        assert model["reason"]


REGISTERED = "edip-load-fr"


@pytest.fixture(scope="module")
def gam_kalman() -> tuple[bytes, pd.DataFrame, pd.Series]:
    from edip_ml.export.onnx_export import to_onnx
    from edip_ml.models.gam import GAMKalmanForecaster

    X, y = heating_rows(70, start="2019-01-01")
    n = len(X) - 48
    model = GAMKalmanForecaster({"q": 1e-5, "warmup_days": 14}).fit(X.iloc[:n], y.iloc[:n])
    return bytes(to_onnx(model).SerializeToString()), X.iloc[n:], y.iloc[n:]


def _manager(
    tmp_path: Path, onnx: bytes, version: str = "7", kept: dict[tuple[str, str], Any] | None = None
) -> ModelManager:
    """A manager serving ``onnx`` as ``version``; ``kept``: the persisted states it reads back
    ((model, version) → state, as the log store's newest)."""
    settings = Settings(data_dir=tmp_path, mlflow_tracking_uri="http://127.0.0.1:9", log_spill_dir=tmp_path / "spill")  # fmt: skip
    states = kept if kept is not None else {}
    manager = ModelManager(settings, FeatureParams(), states=lambda m, v: states.get((m, v)))
    forecaster = OnnxForecaster(onnx)
    info = ModelInfo(name=forecaster.model_name, version=version, source="registry",
                     family="gam", alias="champion", loaded_at=pd.Timestamp.now("UTC"), reason=None)  # fmt: skip
    served = ServedModel(info=info, feature_params=FeatureParams(),
                         feature_names=list(forecaster.feature_names), forecaster=forecaster,
                         registered_model=REGISTERED)  # fmt: skip
    manager._current = served
    manager.alias_version = lambda: version  # type: ignore[method-assign]
    return manager


def _absorbed(onnx: bytes, X: pd.DataFrame, y: pd.Series) -> tuple[dict[str, Any], KalmanEffects]:
    """What the daily update does: the numpy update of the first day's effects and actuals."""
    forecaster = OnnxForecaster(onnx)
    embedded = dict(forecaster.online_state or {})
    effects = forecaster.session.run(
        ["effects"], {"features": X.iloc[:24][forecaster.feature_names].to_numpy(np.float32)}
    )[0]
    state = KalmanEffects.from_dict(embedded)
    state.update(np.asarray(effects, dtype=float), 0.97 * y.iloc[:24].to_numpy())
    return {**embedded, **state.to_dict(), LAST_DAY_KEY: "2019-03-10"}, state


def test_served_model_picks_up_the_persisted_state(
    tmp_path: Path, gam_kalman: tuple[bytes, pd.DataFrame, pd.Series]
) -> None:
    """A state kept in the log store (posted to another worker, or before a restart) is served
    on the next poll; the same day again, or an older one, changes nothing."""
    onnx, X, y = gam_kalman
    kept: dict[tuple[str, str], Any] = {}
    manager = _manager(tmp_path, onnx, kept=kept)
    before = manager.current
    assert before.info.online_last_day is None
    p50_before = before.predict(X.iloc[24:])[:, 1]
    saved, state = _absorbed(onnx, X, y)
    kept[(REGISTERED, "7")] = saved

    after = manager.reload(force=False)  # the poll: same version, newer state
    assert after is manager.current
    assert after is not before
    assert after.info.online_last_day == "2019-03-10"
    assert after.key != before.key  # cached forecasts of the old state are not reused
    p50_after = after.predict(X.iloc[24:])[:, 1]
    forecaster = OnnxForecaster(onnx)
    later = X.iloc[24:][forecaster.feature_names].to_numpy(np.float32)
    later_effects = forecaster.session.run(["effects"], {"features": later})[0]
    np.testing.assert_allclose(p50_after, state.predict(later_effects), rtol=1e-6)
    assert not np.allclose(p50_before, p50_after)
    assert model_detail(manager).online_last_day == "2019-03-10"

    assert manager.refresh_online_state() is after
    kept[(REGISTERED, "7")] = {**saved, LAST_DAY_KEY: "2019-03-09"}
    assert manager.refresh_online_state() is after


def test_a_state_of_another_version_is_not_applied(
    tmp_path: Path, gam_kalman: tuple[bytes, pd.DataFrame, pd.Series]
) -> None:
    onnx, _, _ = gam_kalman
    embedded = dict(OnnxForecaster(onnx).online_state or {})
    kept = {(REGISTERED, "7"): {**embedded, LAST_DAY_KEY: "2019-03-10"}}
    manager = _manager(tmp_path, onnx, version="8", kept=kept)
    before = manager.current
    assert manager.refresh_online_state() is before
    assert before.info.online_last_day is None


def test_a_posted_state_is_kept_then_served_at_once(
    tmp_path: Path, gam_kalman: tuple[bytes, pd.DataFrame, pd.Series]
) -> None:
    onnx, X, y = gam_kalman
    manager = _manager(tmp_path, onnx)
    before = manager.current
    saved, state = _absorbed(onnx, X, y)
    written: list[tuple[str, str, str, dict[str, Any]]] = []

    def keep(name: str, version: str, day: str, st: dict[str, Any]) -> None:
        written.append((name, version, day, st))

    after = manager.put_online_state(REGISTERED, "7", "2019-03-10", saved, keep)
    assert manager.current is after  # no poll wait
    assert after.info.online_last_day == "2019-03-10"
    assert [(n, v, d) for n, v, d, _ in written] == [(REGISTERED, "7", "2019-03-10")]
    assert written[0][3]["theta"] == state.theta.tolist()
    assert not np.allclose(before.predict(X.iloc[24:])[:, 1], after.predict(X.iloc[24:])[:, 1])


@pytest.mark.parametrize(
    ("version", "day", "change", "status", "reason"),
    [
        ("8", "2019-03-11", {}, 409, "serves"),
        ("7", "2019-03-10", {}, 409, "already serves the state of 2019-03-10"),
        ("7", "2019-03-09", {}, 409, "already serves"),
        ("7", "2019-03-11", {"kind": "mlpoly"}, 422, "kind"),
        ("7", "2019-03-11", {"theta": [1.0]}, 422, "cannot run"),
    ],
)
def test_a_posted_state_is_refused_with_a_reason(
    tmp_path: Path,
    gam_kalman: tuple[bytes, pd.DataFrame, pd.Series],
    version: str,
    day: str,
    change: dict[str, Any],
    status: int,
    reason: str,
) -> None:
    """Another version, a day not after the served one, another kind, a state the model cannot
    run with: refused, nothing kept, the served state untouched."""
    onnx, X, y = gam_kalman
    manager = _manager(tmp_path, onnx)
    saved, _ = _absorbed(onnx, X, y)
    served = manager.put_online_state(REGISTERED, "7", "2019-03-10", saved, lambda *_: None)
    written: list[str] = []
    with pytest.raises(ServiceError, match=reason) as err:
        manager.put_online_state(REGISTERED, version, day, {**saved, **change},
                                 lambda *a: written.append(a[2]))  # fmt: skip
    assert err.value.status_code == status
    assert written == []
    assert manager.current is served
