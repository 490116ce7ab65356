"""Workbench passwords (web sign-in; the API keeps bearer tokens).

Revision ID: 0011_web
Revises: 0010_lifecycle
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_web"
down_revision = "0010_lifecycle"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "web_password",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("demo", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_web_password_user_id_app_user"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_web_password")),
    )


def downgrade():
    op.drop_table("web_password")
