"""Initial log store: predictions and actuals.

Revision ID: 0001_initial
Revises:
Create Date: 2025-01-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "predictions",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(), nullable=False),
        sa.Column("endpoint", sa.String(), nullable=False),
        sa.Column("model_name", sa.String(), nullable=False),
        sa.Column("model_version", sa.String(), nullable=False),
        sa.Column("origin", sa.DateTime(timezone=True), nullable=False),
        sa.Column("target_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("horizon_h", sa.Float(), nullable=False),
        sa.Column("p10", sa.Float(), nullable=True),
        sa.Column("p50", sa.Float(), nullable=False),
        sa.Column("p90", sa.Float(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("request_id", "target_time", name="uq_predictions_request_target"),
    )
    op.create_index("ix_predictions_target_time", "predictions", ["target_time"])
    op.create_index(
        "ix_predictions_model_target", "predictions", ["model_name", "model_version", "target_time"]
    )
    op.create_table(
        "actuals",
        sa.Column("timestamp", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("consumption_mw", sa.Float(), nullable=True),
        sa.Column("rte_forecast_d1_mw", sa.Float(), nullable=True),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("actuals")
    op.drop_index("ix_predictions_model_target", table_name="predictions")
    op.drop_index("ix_predictions_target_time", table_name="predictions")
    op.drop_table("predictions")
