"""Hyper-parameters: one typed object per model family that also carries its Optuna search space.

Why one object: a model's knobs, their defaults, their documentation and the ranges ``edip train
ml --tune N`` / ``edip train dl --tune N`` sample used to be written in three places. Here a
tunable field declares its range next to its default, as ``Annotated`` metadata::

    class XGBoostParams(ModelParams):
        learning_rate: Annotated[float, Search(low=0.01, high=0.2, log=True)] = Field(
            0.05, description="Shrinkage per round."
        )

:meth:`ModelParams.search_space` reads the ranges back, :meth:`ModelParams.suggest` samples them
in an Optuna trial, and :meth:`ModelParams.from_logged` rebuilds the object from the string values
an MLflow run logged (``model.*`` params), so a model can be rebuilt from its run.
"""

from __future__ import annotations

import json
import types
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Self, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

if TYPE_CHECKING:
    import optuna

#: a categorical choice Optuna can store
Choice = int | float | str | bool


@dataclass(frozen=True)
class Search:
    """The Optuna range of one field: ``low``..``high`` (``log``, ``step``) or ``choices``.

    A plain dataclass, not a pydantic model: pydantic would read a model found in ``Annotated``
    metadata as the field's own schema.
    """

    #: lower bound (inclusive) of a numeric range
    low: float | None = None
    #: upper bound (inclusive) of a numeric range
    high: float | None = None
    #: sample the range on a log scale
    log: bool = False
    #: step of the range (None: continuous floats, 1 for ints)
    step: float | None = None
    #: categorical values (instead of a range)
    choices: tuple[Choice, ...] | None = None

    def __post_init__(self) -> None:
        ranged = self.low is not None and self.high is not None
        if ranged == (self.choices is not None):
            raise ValueError("a search is either low..high or choices, exactly one of them")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"empty range {self.low}..{self.high}")

    def capped(self, high: float) -> Search:
        """The same search with nothing above ``high`` (choices above it dropped; ``[high]``
        when none is left), e.g. a window never longer than the feature table's."""
        if self.choices is not None:
            kept = tuple(c for c in self.choices if isinstance(c, int | float) and c <= high)
            return replace(self, choices=kept or (high,))
        top = min(float(self.high if self.high is not None else high), high)
        bottom = min(float(self.low if self.low is not None else top), top)
        return replace(self, low=bottom, high=top)

    def __str__(self) -> str:
        if self.choices is not None:
            return " | ".join(str(c) for c in self.choices)
        text = f"{self.low:g}..{self.high:g}"
        text += f" step {self.step:g}" if self.step else ""
        return text + (" log" if self.log else "")

    def suggest(self, trial: optuna.Trial, name: str, integer: bool) -> Any:
        """Sample ``name`` in ``trial`` (``integer``: an int range)."""
        if self.choices is not None:
            return trial.suggest_categorical(name, list(self.choices))
        low = float(self.low if self.low is not None else 0.0)
        high = float(self.high if self.high is not None else low)
        if integer:
            step = int(self.step or 1)
            return trial.suggest_int(name, int(low), int(high), log=self.log, step=step)
        return trial.suggest_float(name, low, high, log=self.log, step=self.step)


def _is_int(annotation: Any) -> bool:
    """Whether a field's type is ``int`` or ``int | None`` (bool excluded)."""
    if annotation is int:
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return args == [int]
    return False


class ModelParams(BaseModel):
    """Base of every model family's hyper-parameters (unknown keys are an error: a typo in
    ``params.yaml`` must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def search_space(cls) -> dict[str, Search]:
        """The tunable fields and their ranges ({} when the family is not tuned)."""
        return {
            name: meta
            for name, field in cls.model_fields.items()
            for meta in field.metadata
            if isinstance(meta, Search)
        }

    @classmethod
    def suggest(
        cls,
        trial: optuna.Trial,
        fixed: Mapping[str, Any] | None = None,
        space: Mapping[str, Search] | None = None,
    ) -> dict[str, Any]:
        """One sample of the space (``space`` replaces the declared one); ``fixed`` values are
        kept as given and not sampled."""
        fixed = dict(fixed or {})
        searched = cls.search_space() if space is None else dict(space)
        unknown = sorted(set(searched) - set(cls.model_fields))
        if unknown:
            raise ValueError(f"{cls.__name__} has no field {unknown} to search")
        params = {
            name: search.suggest(trial, name, _is_int(cls.model_fields[name].annotation))
            for name, search in searched.items()
            if name not in fixed
        }
        params.update(fixed)
        return params

    @classmethod
    def from_logged(cls, logged: Mapping[str, str]) -> Self:
        """The params from the strings an MLflow run logged (unknown keys ignored).

        A value is taken as its string when the field accepts it (``"l2"``, ``"500"``), else
        parsed as the JSON :func:`edip_ml.registry.tracking` wrote (``null``, lists).
        """
        values: dict[str, Any] = {}
        for name, field in cls.model_fields.items():
            if name not in logged:
                continue
            text = logged[name]
            try:
                TypeAdapter[Any](field.annotation or str).validate_python(text)
                values[name] = text
            except ValidationError:
                values[name] = json.loads(text)
        return cls.model_validate(values)

    def describe(self) -> list[str]:
        """One line per field: its value, its search range (``-`` when not tuned), what it does:
        what ``edip train ml --show-params`` prints."""
        space = self.search_space()
        rows = [
            (name, json.dumps(getattr(self, name), default=str), str(space.get(name, "-")))
            for name in type(self).model_fields
        ]
        widths = [max(len(r[i]) for r in rows) for i in range(3)] if rows else [0, 0, 0]
        return [
            f"  {n:<{widths[0]}}  {v:<{widths[1]}}  {r:<{widths[2]}}  "
            f"{type(self).model_fields[n].description or ''}"
            for n, v, r in rows
        ]
