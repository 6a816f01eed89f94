"""Intraday re-issues: an issuance is one (target day, kind), with its lead time.

Revision ID: 0005_issuance_kinds
Revises: 0004_prediction_variant
Create Date: 2026-12-07

Rows written before this revision are day-ahead issuances: they get ``kind = 'day-ahead'``.
"""

import warnings
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_issuance_kinds"
down_revision: str | None = "0004_prediction_variant"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = ["target_day", "kind"]


def _columns() -> list[sa.Column[object]]:
    return [
        sa.Column("kind", sa.String(32), nullable=False, server_default="day-ahead"),
        sa.Column("lead_h", sa.Float(), nullable=True),
    ]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # no ALTER of a primary key: copy the table
        with warnings.catch_warnings():  # the copy's new key differs from the reflected one
            warnings.simplefilter("ignore", sa.exc.SAWarning)
            with op.batch_alter_table("issuances", recreate="always") as batch:
                for column in _columns():
                    batch.add_column(column)
                batch.create_primary_key("pk_issuances", KEY)
        return
    for column in _columns():
        op.add_column("issuances", column)
    op.drop_constraint("issuances_pkey", "issuances", type_="primary")
    op.create_primary_key("pk_issuances", "issuances", KEY)


def downgrade() -> None:
    op.execute("DELETE FROM issuances WHERE kind <> 'day-ahead'")
    if op.get_bind().dialect.name == "sqlite":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sa.exc.SAWarning)
            with op.batch_alter_table("issuances", recreate="always") as batch:
                batch.create_primary_key("pk_issuances", ["target_day"])
                batch.drop_column("lead_h")
                batch.drop_column("kind")
        return
    op.drop_constraint("pk_issuances", "issuances", type_="primary")
    op.create_primary_key("issuances_pkey", "issuances", ["target_day"])
    op.drop_column("issuances", "lead_h")
    op.drop_column("issuances", "kind")
