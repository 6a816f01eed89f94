"""The live loop's daily update: one step of the walk-forward engine on the served model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from edip_ml.config import MLParams
from edip_ml.data.dataset import feature_params as dataset_feature_params
from edip_ml.data.dataset import make_xy, protocol_pairs
from edip_ml.export.onnx_export import to_onnx
from edip_ml.live.update import UpdateContext
from edip_ml.models.gam import GAMKalmanForecaster
from edip_ml.models.online import ABSORBED_TO_KEY, group_rows, live_update, raw_outputs, served_walk
from edip_ml.models.walk_forward import WHOLE_DAYS, AbsorbRule
from edip_pipeline.config import FeatureParams
from edip_pipeline.conformal import CONFORMAL_KEY, ConformalBand
from edip_pipeline.contract import OnnxForecaster
from edip_pipeline.features import build_features, day_ahead_pairs, load_target
from edip_pipeline.online import LAST_DAY_KEY, KalmanEffects
from edip_pipeline.store import Store
from tests.conftest import KeptStates, make_store, sample_load_rows

STEP = pd.Timedelta(hours=1)


# ---------------------------------------------------------------------------------------------
# live_update: the daily production update of the champion's state
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gam_onnx(sample_store: Store, small_params: MLParams) -> bytes:
    """A GAM-Kalman fitted on a short sample period, exported to its contract ONNX."""
    pairs = protocol_pairs(
        "2019-09-01",
        "2019-11-30",
        "day-ahead",
        small_params,
        dataset_feature_params(sample_store, small_params),
    )
    X, y, _ft = make_xy(sample_store, pairs, small_params)
    model = GAMKalmanForecaster({"q": 1e-5, "warmup_days": 14}).fit(X, y)
    model.band = ConformalBand(window=14, min_count=7)  # the band a backtest walk ended with
    last = slice(-24 * 14, None)
    hours = X["hour"].to_numpy(dtype=int)[last]
    model.band.update(model.predict(X.iloc[last])["p50"].to_numpy(), y.to_numpy()[last], hours)
    model.feature_params = dataset_feature_params(sample_store, small_params).model_dump(
        mode="json"
    )
    return bytes(to_onnx(model).SerializeToString())


def _ctx(
    store: Store, day: str, states: KeptStates, version: str = "3", now: str = "2019-12-03T08:00Z"
) -> UpdateContext:
    model = {"name": "gam_kalman", "version": version, "source": "registry",
             "registered_model": "edip-load-fr", "family": "gam"}  # fmt: skip
    return UpdateContext(model, day, pd.Timestamp(now), store, states=states)


def _served(store: Store, onnx: bytes, day: str, state: dict[str, Any] | None) -> np.ndarray:
    """P50 the API would serve for Paris day ``day`` (day-ahead origin) with ``state`` applied."""
    f = OnnxForecaster(onnx)
    if state is not None:
        f.online_state = state
    fparams = FeatureParams.model_validate(f.feature_params)
    pairs = day_ahead_pairs(day, day, fparams.step, fparams.origin_hour_local)
    o = pd.Timestamp(pairs["origin"].iloc[0])
    ft = build_features(store, o, pd.DatetimeIndex(pairs["target_time"]), fparams)
    return np.asarray(f.predict(ft.frame)["p50"].to_numpy(), dtype=float)


def test_live_update_absorbs_a_day_as_the_backtest_does(
    sample_store: Store, gam_onnx: bytes, tmp_path: Path
) -> None:
    store = make_store(tmp_path / "live")
    store.write("load_national", sample_load_rows())
    f = OnnxForecaster(gam_onnx)
    embedded = dict(f.online_state or {})
    day = "2019-12-02"
    states = KeptStates()
    summary = live_update(_ctx(store, day, states), forecaster=f, rule=WHOLE_DAYS)
    assert summary
    assert "absorbed 24 hours" in summary
    assert "as 2019-12-02" in summary
    assert list(states.kept) == [("edip-load-fr", "3", day)]  # posted to the API, for its day
    saved = states.online_state("edip-load-fr", "3")
    assert saved is not None
    assert saved[LAST_DAY_KEY] == day
    assert saved[ABSORBED_TO_KEY] == "2019-12-02T23:00:00+00:00"  # the end of the Paris day

    # the backtest's daily step: the numpy update of the same inputs (effects, actuals)
    fparams = FeatureParams.model_validate(f.feature_params)
    pairs = day_ahead_pairs(day, day, fparams.step, fparams.origin_hour_local)
    targets = pd.DatetimeIndex(pairs["target_time"])
    ft = build_features(store, pd.Timestamp(pairs["origin"].iloc[0]), targets, fparams)
    effects = raw_outputs(f, ft.frame)["effects"]
    expected = KalmanEffects.from_dict(embedded)
    expected.update(effects, load_target(store, targets, fparams.step).to_numpy(dtype=float))
    np.testing.assert_allclose(saved["theta"], expected.theta)
    np.testing.assert_allclose(saved["P"], expected.P)
    # the band learnt the day's residuals against the P50 served before the update
    band = ConformalBand.from_dict(embedded[CONFORMAL_KEY])
    y_day = load_target(store, targets, fparams.step).to_numpy(dtype=float)
    band.update(
        _served(store, gam_onnx, day, embedded), y_day, targets.tz_convert("Europe/Paris").hour
    )
    assert saved[CONFORMAL_KEY] == band.to_dict()

    nxt = "2019-12-03"
    before = _served(store, gam_onnx, nxt, embedded)
    after = _served(store, gam_onnx, nxt, saved)
    want = {**embedded, **expected.to_dict(), CONFORMAL_KEY: band.to_dict()}
    np.testing.assert_allclose(after, _served(store, gam_onnx, nxt, want))
    assert not np.allclose(before, after)

    # the same day again: nothing is posted
    states.put_online_state = None  # type: ignore[assignment,method-assign]
    again = live_update(_ctx(store, day, states), forecaster=OnnxForecaster(gam_onnx),
                        rule=WHOLE_DAYS)  # fmt: skip
    assert again
    assert "nothing to absorb" in again
    assert states.online_state("edip-load-fr", "3") == saved


def test_live_update_skips_a_day_without_actuals(
    sample_store: Store, gam_onnx: bytes, tmp_path: Path
) -> None:
    store = make_store(tmp_path / "gap")
    rows = sample_load_rows()
    ts = pd.DatetimeIndex(rows["timestamp"])
    gap = (ts >= pd.Timestamp("2019-12-01T23:00Z")) & (ts < pd.Timestamp("2019-12-02T23:00Z"))
    store.write("load_national", rows[~np.asarray(gap)])
    states = KeptStates()
    summary = live_update(_ctx(store, "2019-12-02", states), forecaster=OnnxForecaster(gam_onnx),
                          rule=WHOLE_DAYS)  # fmt: skip
    assert summary
    assert "no measured load" in summary
    assert states.kept == {}


def test_live_update_ignores_a_champion_without_state(sample_store: Store) -> None:
    fallback = {"name": "same_hour_last_week", "version": None, "source": "fallback"}
    ctx = UpdateContext(fallback, "2019-12-02", pd.Timestamp("2019-12-03T08:00Z"), sample_store)
    assert live_update(ctx) is None


LAG = AbsorbRule(pd.Timedelta("2h"), 12)  # the issuance at 12:00 Paris, the default lag


def test_live_update_absorbs_what_is_published_before_the_issuance_as_the_engine_does(
    gam_onnx: bytes, tmp_path: Path
) -> None:
    store = make_store(tmp_path / "lag")
    store.write("load_national", sample_load_rows())
    states = KeptStates()
    f = OnnxForecaster(gam_onnx)
    # 12-02 11:40 Paris: only the last group (no as-of instant yet), 12-01 10:00 .. 12-02 09:00
    first = live_update(_ctx(store, "2019-12-01", states, now="2019-12-02T10:40Z"), f, LAG)
    assert first
    assert "as 2019-12-02" in first
    # 12-03 09:30 Paris: 12-03 up to 10:00 is not published yet, nothing to absorb (no leak)
    early = live_update(_ctx(store, "2019-12-02", states, now="2019-12-03T08:30Z"), f, LAG)
    assert early
    assert "nothing to absorb" in early
    # 12-03 11:40: everything published since the state's as-of instant, once
    second = live_update(_ctx(store, "2019-12-02", states, now="2019-12-03T10:40Z"), f, LAG)
    assert second
    assert "absorbed 24 hours" in second
    assert [d for _, _, d in states.kept] == ["2019-12-02", "2019-12-03"]
    saved = states.online_state("edip-load-fr", "3")
    assert saved is not None
    assert saved[ABSORBED_TO_KEY] == "2019-12-03T09:00:00+00:00"  # 10:00 Paris: 12:00 - 2 h
    assert saved[LAST_DAY_KEY] == "2019-12-03"

    # the backtest's engine over the same rows, origin by origin, ends in the same state
    class _Ctx:
        pass

    ctx = _Ctx()
    ctx.store = store  # type: ignore[attr-defined]
    targets = pd.date_range("2019-12-01 10:00", "2019-12-03 23:00", freq="h", tz="Europe/Paris")
    X, y = group_rows(ctx, OnnxForecaster(gam_onnx), targets.tz_convert("UTC"))
    engine = served_walk(OnnxForecaster(gam_onnx), LAG)
    engine._pending = [(X, y)]
    for origin in ("2019-12-02 12:00", "2019-12-03 12:00"):
        engine.advance(pd.Timestamp(origin, tz="Europe/Paris"))
    walked = engine.model.online_state()  # type: ignore[attr-defined]
    np.testing.assert_allclose(saved["theta"], walked["theta"])
    np.testing.assert_allclose(saved["P"], walked["P"])
    assert saved[CONFORMAL_KEY] == walked[CONFORMAL_KEY]
    assert len(engine._pending[0][0]) == 14  # 12-03 10:00 .. 23:00 wait for 12-04 12:00


def test_live_update_waits_for_a_group_the_store_does_not_hold_whole(
    gam_onnx: bytes, tmp_path: Path
) -> None:
    store = make_store(tmp_path / "late")
    rows = sample_load_rows()
    late = pd.DatetimeIndex(rows["timestamp"]) >= pd.Timestamp("2019-12-03T08:00Z")  # 09:00 Paris
    store.write("load_national", rows[~np.asarray(late)])
    states = KeptStates()
    f = OnnxForecaster(gam_onnx)
    live_update(_ctx(store, "2019-12-01", states, now="2019-12-02T10:40Z"), f, LAG)
    waits = live_update(_ctx(store, "2019-12-02", states, now="2019-12-03T10:40Z"), f, LAG)
    assert waits
    assert "not in the store yet" in waits
    assert [d for _, _, d in states.kept] == ["2019-12-02"]
