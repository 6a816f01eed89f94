"""The combination variant of each logged point: with or without RTE's D-1 forecast as an expert.

Revision ID: 0004_prediction_variant
Revises: 0003_explanations
Create Date: 2026-12-07

Rows logged before it keep NULL (unknown); every model served before it used no RTE forecast.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_prediction_variant"
down_revision: str | None = "0003_explanations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("predictions", sa.Column("variant", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("predictions") as batch:  # SQLite: drop a column by copy
        batch.drop_column("variant")
