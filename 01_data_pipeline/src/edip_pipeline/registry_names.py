"""The MLflow registry's names, written once for training (``edip_ml``) and serving (``edip_api``).

Why here: both packages build on ``edip_pipeline`` and neither may import the other, yet the API
serves ``models:/<REGISTERED_MODEL>@<CHAMPION>`` that training registers and promotion moves. The
dashboard cannot import this package: it reads the aliases from the API (``/v1/model``).
"""

from __future__ import annotations

#: the registered model every forecaster is a version of (``ml.tracking.registered_model`` and
#: the API's ``EDIP_MODEL_NAME`` may name another)
REGISTERED_MODEL = "edip-load-fr"
#: the registered model of the intraday re-issues (``edip train intraday``): its ``champion`` is
#: what ``GET /v1/forecast/intraday`` serves, the day-ahead champion when it has none
INTRADAY_MODEL = "edip-load-fr-intraday"
#: alias of the newest trained version, the one ``edip promote`` judges
CHALLENGER = "challenger"
#: alias of the served version
CHAMPION = "champion"

__all__ = ["CHALLENGER", "CHAMPION", "INTRADAY_MODEL", "REGISTERED_MODEL"]
