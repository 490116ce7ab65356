"""Tokens that end (expires_at, revoked_at, revoked_by); cases know their department; participation index

api_token: expiry and revocation details. process_instance.department_code (indexed since 0004) was filled only
for catalogued matters' cases: cases of other diagrams get the department of their tasks' posts. user_task
gets an index on completed_by, so "cases I took part in" is an index lookup.

Revision ID: 0009_access_tokens
Revises: 0008_engine_events
"""
import sqlalchemy as sa
from alembic import op

revision = '0009_access_tokens'
down_revision = '0008_engine_events'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('revoked_by', sa.String(length=64), nullable=True))
    with op.batch_alter_table('user_task', schema=None) as batch_op:
        batch_op.create_index('ix_user_task_completed_by', ['completed_by'], unique=False)
    # Cases of diagrams that are no catalogued matter: the department of the first of their tasks' posts that has one.
    op.execute(sa.text(
        "UPDATE process_instance SET department_code = ("
        " SELECT p.department_code FROM user_task t JOIN post p ON p.name = t.home_post"
        " WHERE t.instance_id = process_instance.id AND p.department_code IS NOT NULL"
        " ORDER BY t.created_at LIMIT 1)"
        " WHERE department_code IS NULL"))


def downgrade():
    with op.batch_alter_table('user_task', schema=None) as batch_op:
        batch_op.drop_index('ix_user_task_completed_by')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('revoked_by')
        batch_op.drop_column('revoked_at')
        batch_op.drop_column('expires_at')
