"""Online states posted by the loop: one row per (registered model, version, day absorbed).

Revision ID: 0006_online_states
Revises: 0005_issuance_kinds
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_online_states"
down_revision: str | None = "0005_issuance_kinds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "online_states",
        sa.Column("model_name", sa.String(), primary_key=True),
        sa.Column("model_version", sa.String(), primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("online_states")
