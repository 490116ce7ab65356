"""the window's day: indexes for 办件查询 (applicant, agent, phone; prefix search on PostgreSQL); case attachments
and comments; web sessions listed per person; sign-in rate counters (limits)

Revision ID: 0019_window
Revises: 0018_hall_wing
"""
import sqlalchemy as sa
from alembic import op

revision = '0019_window'
down_revision = '0018_hall_wing'
branch_labels = None
depends_on = None

_INTAKE = ('phone', 'agent_phone', 'agent_id_number', 'agent_name')
# PostgreSQL answers `LIKE 'abc%'` from an index only with the pattern operator class
_PREFIX = (('case_intake', 'applicant_name'), ('case_intake', 'agent_name'), ('case_intake', 'id_number'),
           ('hall_case', 'case_number'))


def upgrade():
    op.create_table(
        'web_session',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=True),
        sa.Column('user_agent', sa.String(length=300), nullable=True),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ended_by', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_web_session_user', 'web_session', ['user_id', 'ended_at'], unique=False)
    op.create_table(
        'rate_counter',
        sa.Column('key', sa.String(length=300), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('expires_at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('key'))
    op.create_index('ix_rate_counter_expires_at', 'rate_counter', ['expires_at'], unique=False)
    op.create_table(
        'case_attachment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.String(length=32), nullable=False),
        sa.Column('task_id', sa.String(length=64), nullable=True),
        sa.Column('material', sa.String(length=200), nullable=True),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('uploaded_by', sa.String(length=64), nullable=True),
        sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id']),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_case_attachment_instance', 'case_attachment', ['instance_id', 'id'], unique=False)
    op.create_index('ix_case_attachment_task_id', 'case_attachment', ['task_id'], unique=False)
    op.create_table(
        'case_comment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.String(length=32), nullable=False),
        sa.Column('task_id', sa.String(length=64), nullable=True),
        sa.Column('reply_to', sa.Integer(), nullable=True),
        sa.Column('author', sa.String(length=64), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id']),
        sa.ForeignKeyConstraint(['reply_to'], ['case_comment.id']),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_case_comment_instance', 'case_comment', ['instance_id', 'id'], unique=False)
    op.create_index('ix_case_comment_task_id', 'case_comment', ['task_id'], unique=False)
    for column in _INTAKE:
        op.create_index(f'ix_case_intake_{column}', 'case_intake', [column], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        for table, column in _PREFIX:
            op.create_index(f'ix_{table}_{column}_prefix', table, [column], unique=False,
                            postgresql_ops={column: 'varchar_pattern_ops'})


def downgrade():
    op.drop_table('rate_counter')
    op.drop_table('web_session')
    op.drop_table('case_comment')
    op.drop_table('case_attachment')
    if op.get_bind().dialect.name == 'postgresql':
        for table, column in _PREFIX:
            op.drop_index(f'ix_{table}_{column}_prefix', table_name=table)
    for column in _INTAKE:
        op.drop_index(f'ix_case_intake_{column}', table_name='case_intake')
