"""THE leakage test: features must not change when data after the origin changes.

For a cut instant ``c``, a fresh store is written (through ``Store.write``) with every load value
not yet known at ``c`` (stamp ``u`` with ``u + 30min > c``) and all observed weather after ``c``
replaced by garbage. The *whole batch* is rebuilt on it: every row whose origin is ``<= c`` must be
bit-for-bit identical to the clean build — this checks the per-row cut-offs inside one vectorised
build, not just the read range — for the day-ahead, rolling and intraday (the loop's re-issues)
protocols, on 1-hour and 30-minute grids. The last tests show the harness can fail: touching the
last known half-hour, or a naive (non horizon-aware) lag, is caught.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edip_pipeline.config import FeatureParams, Settings, load_params
from edip_pipeline.datasets import DATASETS
from edip_pipeline.features import (
    LeakageError,
    build_feature_table,
    build_features,
    day_ahead_pairs,
    rolling_pairs,
)
from edip_pipeline.features import load as load_mod
from edip_pipeline.sources.base import canonical
from edip_pipeline.store import Store

from ..conftest import sample_load_rows

REPO_ROOT = Path(__file__).resolve().parents[3]
HH = pd.Timedelta("30min")
#: cut instants = day-ahead origins (12:00 Paris), incl. the eves of both 2019/2020 clock changes
CUTS = [
    pd.Timestamp("2019-03-30 11:00", tz="UTC"),
    pd.Timestamp("2020-02-10 11:00", tz="UTC"),
    pd.Timestamp("2020-10-24 10:00", tz="UTC"),
]
STEPS = ["1h", "30min"]
#: "intraday": the loop's re-issues — an origin every 3 h (Paris) with targets up to 30 h ahead
PROTOCOLS = ["day-ahead", "rolling", "intraday"]


def _params(step: str) -> FeatureParams:
    # with a past-load window, the short-lead shape and latest-error columns: the same rule
    features = load_params(REPO_ROOT / "params.yaml").features
    update = {"step": step, "window_h": 48, "shape_features": True, "recent_error_features": True}
    return features.model_copy(update=update)


@lru_cache(maxsize=1)
def _clean_rows() -> dict[str, pd.DataFrame]:
    load = sample_load_rows()
    g = pd.date_range("2018-12-01", "2021-01-03", freq="1h", tz="UTC", inclusive="left")
    doy = np.asarray(g.day_of_year, dtype=float)
    hour = np.asarray(g.hour, dtype=float)
    temp = 12 - 8 * np.cos(2 * np.pi * (doy - 20) / 365) + 3 * np.sin(2 * np.pi * (hour - 9) / 24)
    temp = temp + np.random.default_rng(1).normal(0, 1.0, len(g))

    def hourly(values: np.ndarray, variable: str) -> pd.DataFrame:
        return canonical(g, values, variable=variable, area="FR", vintage=2, source="t")

    observed = pd.concat(
        [hourly(temp, "temperature_2m_c"), hourly(50 + 40 * np.sin(doy / 7), "cloud_cover_pct")],
        ignore_index=True,
    )
    forecast = pd.concat(
        [
            hourly(temp + 0.7, "temperature_2m_c"),
            hourly(45 + 40 * np.sin(doy / 7), "cloud_cover_pct"),
        ],
        ignore_index=True,
    )
    days = pd.date_range("2018-12-01", "2021-01-02", freq="D").tz_localize("Europe/Paris")
    daily = canonical(
        days.tz_convert("UTC"),
        12 - 8 * np.cos(2 * np.pi * (days.day_of_year - 20) / 365),
        variable="tmean_c",
        area="FR",
        vintage=2,
        source="t",
    )
    return {
        "load_national": load,
        "weather_observed": observed,
        "weather_historical_forecast": forecast,
        "temperature_daily": daily,
    }


def _new_store(root: Path) -> Store:
    return Store(root, load_params(REPO_ROOT / "params.yaml"), Settings(data_dir=root))


@pytest.fixture(scope="module")
def clean_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = _new_store(tmp_path_factory.mktemp("clean"))
    for name, rows in _clean_rows().items():
        store.write(name, rows.copy())
    return store


def corrupted_copy(
    clean: Store, root: Path, mask_of: Callable[[str, pd.Series], np.ndarray]
) -> Store:
    """A fresh store holding ``clean``'s rows, with values where ``mask_of`` is True garbled."""
    out = _new_store(root)
    rng = np.random.default_rng(7)
    for name in DATASETS:
        rows = clean.read(name)
        if rows.empty:
            continue
        rows = rows.copy()
        rows["flags"] = 0  # everything stored counts as measured: no re-interpolation drift
        mask = mask_of(name, rows["timestamp"])
        values = rows["value"].to_numpy(copy=True)
        # garbage that is still physically plausible (the store would flag impossible values
        # and drop them): each variable's own values, shuffled, plus a shift
        variables = rows["variable"].to_numpy()
        for variable in np.unique(variables[mask]):
            m = mask & (variables == variable)
            values[m] = rng.permutation(values[m]) * rng.uniform(0.97, 1.0, m.sum())
        rows["value"] = values
        out.write(name, rows)
    return out


def after_cut(
    cut: pd.Timestamp, weather_after: pd.Timestamp | None = None
) -> Callable[[str, pd.Series], np.ndarray]:
    """Load not known at ``cut``; observed weather after ``weather_after`` (default ``cut``).

    The forecast archive is left alone: forecasts for the targets are legitimately known.
    """
    w_cut = weather_after if weather_after is not None else cut

    def mask_of(name: str, ts: pd.Series) -> np.ndarray:
        if name == "load_national":
            return np.asarray(ts + HH > cut)
        if name in ("weather_observed", "temperature_daily"):
            return np.asarray(ts > w_cut)
        return np.zeros(len(ts), dtype=bool)

    return mask_of


def protocol_pairs(protocol: str, cut: pd.Timestamp, step: str) -> pd.DataFrame:
    """Many origins around ``cut``, including ``cut`` itself and origins just before it."""
    day = cut.tz_convert("Europe/Paris").normalize().tz_localize(None)
    if protocol == "day-ahead":
        return day_ahead_pairs(day - pd.Timedelta(days=12), day + pd.Timedelta(days=6), step=step)
    if protocol == "intraday":
        paris = pd.date_range(day - pd.Timedelta(days=8), day + pd.Timedelta(days=4), freq="3h")
        local = paris.tz_localize("Europe/Paris", nonexistent="shift_forward", ambiguous=True)
        return rolling_pairs(local.tz_convert("UTC"), horizon_h=30, step=step)
    origins = pd.date_range(cut - pd.Timedelta(days=8), cut + pd.Timedelta(days=4), freq="7h")
    extra = pd.DatetimeIndex([cut, cut - pd.Timedelta("10min"), cut - HH, cut - pd.Timedelta("1h")])
    return rolling_pairs(origins.append(extra), horizon_h=24, step=step)


def assert_no_leak(clean: pd.DataFrame, dirty: pd.DataFrame, cut: pd.Timestamp) -> None:
    """Rows whose origin is at or before ``cut`` are identical, to the bit."""
    known = clean.index.get_level_values("origin") <= cut
    assert known.sum() > 0
    pd.testing.assert_frame_equal(dirty[known], clean[known], check_exact=True)


@pytest.mark.parametrize("cut", CUTS, ids=lambda c: c.strftime("%Y%m%d"))
def test_batch_features_ignore_data_after_each_origin(
    clean_store: Store, tmp_path: Path, cut: pd.Timestamp
) -> None:
    dirty_store = corrupted_copy(clean_store, tmp_path / "dirty", after_cut(cut))
    for step in STEPS:
        for protocol in PROTOCOLS:
            pairs = protocol_pairs(protocol, cut, step)
            params = _params(step)
            clean = build_feature_table(clean_store, pairs, params, weather="forecast")
            dirty = build_feature_table(dirty_store, pairs, params, weather="forecast")
            assert clean.weather_source == "forecast"
            assert_no_leak(clean.frame, dirty.frame, cut)
            # the corruption is real: later origins do see it
            later = clean.frame.index.get_level_values("origin") > cut
            assert not np.allclose(
                clean.frame.loc[later, "load_last"], dirty.frame.loc[later, "load_last"]
            ), (protocol, step)


@pytest.mark.parametrize("cut", CUTS[1:], ids=lambda c: c.strftime("%Y%m%d"))
def test_observed_weather_is_read_at_targets_only(
    clean_store: Store, tmp_path: Path, cut: pd.Timestamp
) -> None:
    # observations stand in for the forecast up to the last target (<= cut + horizon_h)
    horizon = pd.Timedelta(hours=_params("1h").horizon_h)
    dirty_store = corrupted_copy(clean_store, tmp_path / "dirty", after_cut(cut, cut + horizon))
    for step in STEPS:
        for protocol in PROTOCOLS:
            pairs = protocol_pairs(protocol, cut, step)
            clean = build_feature_table(clean_store, pairs, _params(step), weather="observed")
            dirty = build_feature_table(dirty_store, pairs, _params(step), weather="observed")
            assert clean.weather_source == "observed-as-forecast"
            assert_no_leak(clean.frame, dirty.frame, cut)


class CorruptingStore(Store):
    """A read-only view of a store whose reads garble everything not known at ``cut``."""

    def __init__(self, base: Store, cut: pd.Timestamp) -> None:
        super().__init__(base.root, base.params, Settings(data_dir=base.root))
        self.cut = cut

    def read(
        self,
        dataset: str,
        start: pd.Timestamp | str | None = None,
        end: pd.Timestamp | str | None = None,
        **kwargs: object,
    ) -> pd.DataFrame:
        rows = super().read(dataset, start, end, **kwargs)  # type: ignore[arg-type]
        mask = after_cut(self.cut)(dataset, rows["timestamp"])
        rows.loc[mask, "value"] = -rows.loc[mask, "value"] - 99_999.0
        return rows


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_single_origin_builds_ignore_the_future(
    clean_store: Store, protocol: str, step: str
) -> None:
    cut = CUTS[1]
    pairs = protocol_pairs(protocol, cut, step)
    batch = build_feature_table(clean_store, pairs, _params(step), weather="forecast").frame
    origins = pd.DatetimeIndex(pairs["origin"].unique())
    for origin in origins[:: max(1, len(origins) // 8)].append(pd.DatetimeIndex([cut])):
        targets = pd.DatetimeIndex(pairs.loc[pairs["origin"] == origin, "target_time"])
        one = build_features(
            CorruptingStore(clean_store, origin), origin, targets, _params(step), weather="forecast"
        )
        # same values as the batch (the smoothing window may be summed in another order)
        pd.testing.assert_frame_equal(one.frame, batch.loc[[origin]], rtol=1e-9)


# ---------------------------------------------------------------- the harness can fail


def test_changing_the_last_known_value_is_detected(clean_store: Store, tmp_path: Path) -> None:
    cut = CUTS[1]

    def last_known_only(name: str, ts: pd.Series) -> np.ndarray:
        return np.asarray((ts == cut - HH) if name == "load_national" else np.zeros(len(ts), bool))

    dirty_store = corrupted_copy(clean_store, tmp_path / "dirty", last_known_only)
    pairs = protocol_pairs("day-ahead", cut, "30min")
    clean = build_feature_table(clean_store, pairs, _params("30min"), weather="forecast").frame
    dirty = build_feature_table(dirty_store, pairs, _params("30min"), weather="forecast").frame
    with pytest.raises(AssertionError):
        assert_no_leak(clean, dirty, cut)
    # ... and it is still invisible to the origins before it became known
    assert_no_leak(clean, dirty, cut - HH)
    assert (
        clean.xs(cut, level="origin")["load_last"] != dirty.xs(cut, level="origin")["load_last"]
    ).all()


def _naive_multiple(
    targets_ns: np.ndarray, origins_ns: np.ndarray, k: int, period_ns: int, step_ns: int
) -> np.ndarray:
    """A leaky lag: always t − k·period, whatever the horizon."""
    return np.full(len(targets_ns), k)


def test_a_naive_lag_trips_the_guard(clean_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(load_mod, "horizon_aware_multiple", _naive_multiple)
    with pytest.raises(LeakageError):
        build_feature_table(clean_store, protocol_pairs("day-ahead", CUTS[1], "1h"), _params("1h"))


def test_a_naive_lag_without_guard_is_caught_by_the_harness(
    clean_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cut = CUTS[1]
    dirty_store = corrupted_copy(clean_store, tmp_path / "dirty", after_cut(cut))
    pairs = protocol_pairs("day-ahead", cut, "1h")
    clean = build_feature_table(clean_store, pairs, _params("1h"), weather="forecast").frame
    monkeypatch.setattr(load_mod, "horizon_aware_multiple", _naive_multiple)

    def unguarded(values: np.ndarray, pos: np.ndarray, limit: np.ndarray) -> np.ndarray:
        out = np.full(len(pos), np.nan)
        ok = (pos >= 0) & (pos < len(values))
        out[ok] = values[pos[ok]]
        return out

    monkeypatch.setattr(load_mod, "_gather", unguarded)
    leaky_clean = build_feature_table(clean_store, pairs, _params("1h"), weather="forecast").frame
    leaky_dirty = build_feature_table(dirty_store, pairs, _params("1h"), weather="forecast").frame
    assert not leaky_clean["load_lag_1d"].equals(clean["load_lag_1d"])
    with pytest.raises(AssertionError):
        assert_no_leak(leaky_clean, leaky_dirty, cut)
