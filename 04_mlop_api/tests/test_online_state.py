"""The served champion picks up the online state the daily update persisted beside the store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edip_api.api.routes.model import model_detail
from edip_api.core.config import Settings
from edip_api.schemas import ModelInfo
from edip_api.services.model_manager import ModelManager, ServedModel
from edip_pipeline.config import FeatureParams
from edip_pipeline.contract import OnnxForecaster
from edip_pipeline.online import LAST_DAY_KEY, KalmanEffects, save_state, state_path

REGISTERED = "edip-load-fr"


def _rows(days: int = 70, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Hourly rows with a heating response and a day shape (what a GAM fits in a second)."""
    rng = np.random.default_rng(seed)
    targets = pd.date_range("2019-01-01", periods=24 * days, freq="h", tz="UTC")
    origins = targets.floor("D") - pd.Timedelta(hours=12)
    doy = 2 * np.pi * targets.day_of_year.to_numpy() / 365.25
    hour = targets.hour.to_numpy().astype(float)
    temp = 12 - 8 * np.cos(doy) + 3 * np.sin(2 * np.pi * hour / 24) + rng.normal(0, 2, len(hour))
    dow = targets.day_of_week.to_numpy().astype(float)
    y = 50000 + 1500 * np.maximum(0, 15 - temp) + 3000 * np.sin(2 * np.pi * hour / 24)
    y = y - 4000 * (dow >= 5) + rng.normal(0, 300, len(y))
    X = pd.DataFrame(
        {
            "horizon_h": ((targets - origins) / pd.Timedelta(hours=1)).to_numpy(float),
            "hour": hour,
            "dow": dow,
            "is_holiday": 0.0,
            "doy_sin": np.sin(doy),
            "doy_cos": np.cos(doy),
            "temperature_c": temp,
            "temperature_ewm_0p05": pd.Series(temp).ewm(alpha=0.05).mean().to_numpy(),
            "load_lag_1d": np.r_[np.full(24, np.nan), y[:-24]],
            "load_same_hour_last_week": np.r_[np.full(168, np.nan), y[:-168]],
        },
        index=pd.MultiIndex.from_arrays([origins, targets], names=["origin", "target_time"]),
    )
    keep = np.arange(len(X)) >= 168
    return X[keep], pd.Series(y, index=X.index, name="load_mw")[keep]


@pytest.fixture(scope="module")
def gam_kalman() -> tuple[bytes, pd.DataFrame, pd.Series]:
    from edip_ml.models.gam import GAMKalmanForecaster
    from edip_ml.onnx_export import to_onnx

    X, y = _rows()
    n = len(X) - 48
    model = GAMKalmanForecaster({"q": 1e-5, "warmup_days": 14}).fit(X.iloc[:n], y.iloc[:n])
    return bytes(to_onnx(model).SerializeToString()), X.iloc[n:], y.iloc[n:]


def _manager(tmp_path: Path, onnx: bytes, version: str = "7") -> ModelManager:
    settings = Settings(data_dir=tmp_path, mlflow_tracking_uri="http://127.0.0.1:9", log_spill_dir=tmp_path / "spill")  # fmt: skip
    manager = ModelManager(settings, FeatureParams())
    forecaster = OnnxForecaster(onnx)
    info = ModelInfo(name=forecaster.model_name, version=version, source="registry",
                     family="gam", alias="champion", loaded_at=pd.Timestamp.now("UTC"), reason=None)  # fmt: skip
    served = ServedModel(info=info, feature_params=FeatureParams(),
                         feature_names=list(forecaster.feature_names), forecaster=forecaster,
                         registered_model=REGISTERED)  # fmt: skip
    manager._current = served
    manager.alias_version = lambda: version  # type: ignore[method-assign]
    return manager


def test_served_model_picks_up_the_persisted_state(
    tmp_path: Path, gam_kalman: tuple[bytes, pd.DataFrame, pd.Series]
) -> None:
    onnx, X, y = gam_kalman
    manager = _manager(tmp_path, onnx)
    before = manager.current
    assert before.info.online_last_day is None
    p50_before = before.predict(X.iloc[24:])[:, 1]

    # what the daily update does: the numpy update of the first day's effects and actuals
    forecaster = OnnxForecaster(onnx)
    embedded = dict(forecaster.online_state or {})
    effects = forecaster.session.run(
        ["effects"], {"features": X.iloc[:24][forecaster.feature_names].to_numpy(np.float32)}
    )[0]
    state = KalmanEffects.from_dict(embedded)
    state.update(np.asarray(effects, dtype=float), 0.97 * y.iloc[:24].to_numpy())
    saved = {**embedded, **state.to_dict(), LAST_DAY_KEY: "2019-03-10"}
    save_state(state_path(tmp_path, REGISTERED, "7"), saved)

    after = manager.reload(force=False)  # the poll: same version, newer state
    assert after is manager.current
    assert after is not before
    assert after.info.online_last_day == "2019-03-10"
    assert after.key != before.key  # cached forecasts of the old state are not reused
    p50_after = after.predict(X.iloc[24:])[:, 1]
    later = X.iloc[24:][forecaster.feature_names].to_numpy(np.float32)
    later_effects = forecaster.session.run(["effects"], {"features": later})[0]
    np.testing.assert_allclose(p50_after, state.predict(later_effects), rtol=1e-6)
    assert not np.allclose(p50_before, p50_after)
    assert model_detail(manager).online_last_day == "2019-03-10"

    # the same file again, or an older one: nothing changes
    assert manager.refresh_online_state() is after
    save_state(state_path(tmp_path, REGISTERED, "7"), {**saved, LAST_DAY_KEY: "2019-03-09"})
    assert manager.refresh_online_state() is after


def test_a_state_of_another_version_is_not_applied(
    tmp_path: Path, gam_kalman: tuple[bytes, pd.DataFrame, pd.Series]
) -> None:
    onnx, _, _ = gam_kalman
    manager = _manager(tmp_path, onnx, version="8")
    embedded = dict(OnnxForecaster(onnx).online_state or {})
    save_state(state_path(tmp_path, REGISTERED, "7"), {**embedded, LAST_DAY_KEY: "2019-03-10"})
    before = manager.current
    assert manager.refresh_online_state() is before
    assert before.info.online_last_day is None
