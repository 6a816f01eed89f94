"""The documented largest /v1/predict batch fits the default body limit."""

from __future__ import annotations

import json

from edip_api.core.config import Settings
from edip_api.schemas import MAX_PREDICT_ROWS
from edip_pipeline.config import load_params
from edip_pipeline.features import feature_names
from edip_testkit.platform import repo_root


def test_ten_thousand_predict_rows_fit_the_default_limit() -> None:
    names = feature_names(load_params(repo_root() / "params.yaml").features)
    row = dict.fromkeys(names, -12345.678901234567)  # the longest float text json writes
    body = json.dumps({"rows": [row] * MAX_PREDICT_ROWS}).encode()
    assert MAX_PREDICT_ROWS == 10_000
    assert len(body) < Settings().max_body_bytes
