"""Explanations of issued forecasts: one row per forecast (request id).

Revision ID: 0003_explanations
Revises: 0002_issuances
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_explanations"
down_revision: str | None = "0002_issuances"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "explanations",
        sa.Column("request_id", sa.String(), primary_key=True),
        sa.Column("target_day", sa.String(10), nullable=False),
        sa.Column("origin", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_name", sa.String(), nullable=False),
        sa.Column("model_version", sa.String(), nullable=False),
        sa.Column("method", sa.String(), nullable=True),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("points", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_explanations_target_day", "explanations", ["target_day"])


def downgrade() -> None:
    op.drop_index("ix_explanations_target_day", table_name="explanations")
    op.drop_table("explanations")
