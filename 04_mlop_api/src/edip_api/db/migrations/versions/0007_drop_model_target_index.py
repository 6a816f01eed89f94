"""Drop ``ix_predictions_model_target``: ``ix_predictions_target_time`` serves every query.

Why: each query on ``predictions`` names a target-time range (the paged log, the metrics, the
issued points) or a request id (the unique key); none names the model without a target-time
range, so the composite (model_name, model_version, target_time) only made every logged row
dirty a second index in the request path's group commit. A model filter is now applied to the
rows of the target-time range (≤ 92 days).

Revision ID: 0007_drop_model_target_index
Revises: 0006_online_states
Create Date: 2026-12-08
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_drop_model_target_index"
down_revision: str | None = "0006_online_states"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_predictions_model_target", table_name="predictions")


def downgrade() -> None:
    op.create_index(
        "ix_predictions_model_target", "predictions", ["model_name", "model_version", "target_time"]
    )
