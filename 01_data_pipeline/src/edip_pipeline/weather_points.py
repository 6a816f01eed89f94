"""Weather points: where the national weather is measured and how much each place weighs.

Why a setting and not constants: winter error is mostly temperature error times the French
sensitivity (about 2 GW per °C), so *where* the temperature is taken matters as much as the model.
The points are a versioned CSV chosen by ``EDIP_WEATHER_POINTS``: a shipped preset name
(:func:`preset_names`, files in ``edip_pipeline/data/weather_points/``) or a path.

* ``cities15`` (default): the 15 big cities, weighted by the population of their urban areas.
* ``rte35``: the 35 Météo-France stations RTE uses for its national temperature, at their
  published positions, each weighted by the population of the départements it stands for (INSEE;
  ``departements.csv``). RTE's own weights are development-only data and are not shipped; a
  development checkout may point ``EDIP_WEATHER_POINTS`` at that file instead (its format,
  ``ID;Nom;longitude;latitude;Poids`` with ``ID`` the last three digits of the WMO id, is read too).

Columns: ``name, latitude, longitude, weight`` (aliases ``nom``, ``lat``, ``lon``, ``poids``),
optionally ``slug`` (the store's ``area``; default: the WMO id and the name, slugified),
``wmo`` (or ``id``: the SYNOP station, which lets the Météo-France connector use the same
points) and free documentation columns. ``#`` starts a comment line; ``,`` or ``;`` separate. Points of weight 0 are left out.

A point set's identity is ``<preset or absolute path>#<8 hex of its content>``: feature tables
and models record it, and a later build refuses a preset whose content changed.

The national mean (:func:`weighted_mean`) weighs, per variable and hour, the points that have a
value, renormalised over them; an hour whose points hold less than :data:`MIN_WEIGHT_SHARE` of
the weight has no national value (a mean of a few southern points is not France).
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

PRESETS_DIR = Path(__file__).resolve().parent / "data" / "weather_points"
DEFAULT_PRESET = "cities15"
#: files of the presets directory that are not point sets
NOT_PRESETS = frozenset({"departements"})
#: an hour needs points holding at least this share of the weight for a national value
MIN_WEIGHT_SHARE = 0.5
DIGEST_CHARS = 8
ALIASES = {
    "nom": "name",
    "lat": "latitude",
    "lon": "longitude",
    "poids": "weight",
    "id": "wmo",
}


@dataclass(frozen=True)
class WeatherPoint:
    """A place whose weather enters the national mean; ``slug`` is its ``area`` in the store."""

    slug: str
    name: str
    lat: float
    lon: float
    weight: float
    wmo: str | None = None


@dataclass(frozen=True)
class PointSet:
    """A named, hashed set of weather points (see the module doc)."""

    name: str
    points: tuple[WeatherPoint, ...]
    digest: str

    @property
    def ident(self) -> str:
        """``<name>#<digest>``: what feature tables and models record."""
        return f"{self.name}#{self.digest}"

    @property
    def slugs(self) -> list[str]:
        return [p.slug for p in self.points]

    def weights(self) -> dict[str, float]:
        return {p.slug: p.weight for p in self.points}

    def stations(self) -> dict[str, float] | None:
        """WMO id → weight when every point is a SYNOP station, else None."""
        if not all(p.wmo for p in self.points):
            return None
        return {str(p.wmo): p.weight for p in self.points}


def slugify(text: str) -> str:
    """``"Bâle-Mulhouse"`` → ``"bale-mulhouse"``."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")


def preset_names() -> list[str]:
    """The shipped presets, by name."""
    return sorted(p.stem for p in PRESETS_DIR.glob("*.csv") if p.stem not in NOT_PRESETS)


def _wmo(value: str) -> str | None:
    text = value.strip()
    if not text:
        return None
    if not text.isdigit():
        raise ValueError(f"station id {value!r} is not a number")
    return "07" + text.zfill(3) if len(text) <= 3 else text.zfill(5)  # 156 = 07156 (France)


def _rows(text: str, where: str) -> list[dict[str, str]]:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise ValueError(f"{where}: no weather point")
    sep = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.DictReader(io.StringIO("\n".join(lines)), delimiter=sep)
    header = {h: ALIASES.get(h.strip().lower(), h.strip().lower()) for h in reader.fieldnames or []}
    missing = {"name", "latitude", "longitude", "weight"} - set(header.values())
    if missing:
        raise ValueError(f"{where}: columns {sorted(missing)} missing (have {list(header)})")
    return [{header[k]: (v or "").strip() for k, v in row.items() if k in header} for row in reader]


def parse_points(text: str, name: str, *, where: str | None = None) -> PointSet:
    """A :class:`PointSet` from CSV text (see the module doc for the columns)."""
    where = where or name
    points: list[WeatherPoint] = []
    for i, row in enumerate(_rows(text, where), start=1):
        try:
            lat, lon, weight = (float(row[k]) for k in ("latitude", "longitude", "weight"))
            wmo = _wmo(row.get("wmo", ""))
        except ValueError as exc:
            raise ValueError(f"{where}: row {i} ({row.get('name')!r}): {exc}") from exc
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError(f"{where}: row {i}: coordinates ({lat}, {lon}) out of range")
        if not np.isfinite(weight) or weight < 0:
            raise ValueError(f"{where}: row {i}: weight {weight} must be a number >= 0")
        if weight == 0:
            log.info("weather points %s: %s has weight 0, left out", where, row["name"])
            continue
        slug = row.get("slug") or "-".join(filter(None, (wmo, slugify(row["name"]))))
        if not slug or slug == "FR":
            raise ValueError(f"{where}: row {i}: unusable slug {slug!r}")
        points.append(WeatherPoint(slug, row["name"], lat, lon, weight, wmo))
    if not points:
        raise ValueError(f"{where}: no point with a positive weight")
    slugs = [p.slug for p in points]
    if len(set(slugs)) != len(slugs):
        raise ValueError(
            f"{where}: duplicate slugs {sorted({s for s in slugs if slugs.count(s) > 1})}"
        )
    canon = "\n".join(
        f"{p.slug};{p.lat:.6f};{p.lon:.6f};{p.weight!r};{p.wmo or ''}" for p in points
    )
    digest = hashlib.sha256(canon.encode()).hexdigest()[:DIGEST_CHARS]
    return PointSet(name, tuple(points), digest)


@lru_cache(maxsize=32)
def _load_file(path: Path, name: str, stamp: tuple[int, int]) -> PointSet:
    return parse_points(path.read_text(encoding="utf-8-sig"), name, where=str(path))


def load_points(spec: str | None = None) -> PointSet:
    """The point set ``spec`` names: a preset, a CSV path, either with ``#<digest>`` to check.

    ``None`` is the default preset. A content that no longer matches ``#<digest>`` is an error:
    a model trained on one set of points must not be served another.
    """
    spec = (spec or DEFAULT_PRESET).strip()
    base, sep, digest = spec.rpartition("#")
    if not sep or not re.fullmatch(f"[0-9a-f]{{{DIGEST_CHARS}}}", digest):
        base, digest = spec, ""
    if base in preset_names():
        path, name = PRESETS_DIR / f"{base}.csv", base
    else:
        path = Path(base).expanduser()
        if not path.is_file():
            raise ValueError(
                f"weather points {base!r}: neither a preset ({', '.join(preset_names())}) "
                "nor a CSV file"
            )
        path = path.resolve()
        name = str(path)
    stat = path.stat()
    points = _load_file(path, name, (stat.st_mtime_ns, stat.st_size))
    if digest and digest != points.digest:
        raise ValueError(
            f"weather points {base!r} changed: recorded #{digest}, now #{points.digest} "
            "(retrain, or restore the points the model was trained with)"
        )
    return points


def weighted_mean(
    rows: pd.DataFrame, points: PointSet, min_share: float = MIN_WEIGHT_SHARE
) -> pd.DataFrame:
    """National mean per (variable, timestamp) of long ``rows`` (``timestamp, area, variable,
    value``): the points with a value, renormalised; columns ``variable, timestamp, value,
    share`` (the weight share present), hours under ``min_share`` left out."""
    weights = points.weights()
    total = float(sum(weights.values()))
    rows = rows[rows["area"].isin(list(weights)) & rows["value"].notna()]
    if rows.empty:
        return pd.DataFrame(columns=["variable", "timestamp", "value", "share"])
    w = rows["area"].map(weights).astype(float)
    tmp = pd.DataFrame(
        {
            "variable": rows["variable"],
            "timestamp": rows["timestamp"],
            "wv": rows["value"] * w,
            "w": w,
        }
    )
    sums = tmp.groupby(["variable", "timestamp"], sort=True)[["wv", "w"]].sum().reset_index()
    sums["value"] = sums["wv"] / sums["w"]
    sums["share"] = sums["w"] / total
    return sums.loc[sums["share"] >= min_share - 1e-12, ["variable", "timestamp", "value", "share"]]


def share_notes(means: pd.DataFrame, hours: int, min_share: float = MIN_WEIGHT_SHARE) -> list[str]:
    """Per variable: hours re-weighted over the points present, and hours left out."""
    notes = []
    for variable, part in means.groupby("variable", sort=True):
        partial = part[part["share"] < 1 - 1e-9]
        if len(partial):
            notes.append(
                f"{variable}: {len(partial)} of {hours} FR hours re-weighted over the points "
                f"present (lowest weight share {partial['share'].min():.0%})"
            )
        lost = hours - len(part)
        if lost > 0:
            notes.append(
                f"{variable}: {lost} of {hours} FR hours left out (points holding under "
                f"{min_share:.0%} of the weight)"
            )
    return notes
