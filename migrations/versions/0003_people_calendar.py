"""people and calendar: absences, reassignments, owners, calendar days

Revision ID: 0003_people_calendar
Revises: 0002_matters
"""
import sqlalchemy as sa
from alembic import op

revision = '0003_people_calendar'
down_revision = '0002_matters'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('calendar_day',
    sa.Column('date', sa.Date(), autoincrement=False, nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=True),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('date', name=op.f('pk_calendar_day'))
    )
    op.create_table('calendar_year',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('complete', sa.Boolean(), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_calendar_year'))
    )
    op.create_table('absence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_absence_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_absence'))
    )
    with op.batch_alter_table('absence', schema=None) as batch_op:
        batch_op.create_index('ix_absence_dates', ['start_date', 'end_date'], unique=False)
        batch_op.create_index('ix_absence_user_dates', ['user_id', 'start_date', 'end_date'], unique=False)

    with op.batch_alter_table('user_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('home_post', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('return_to', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_user_task_home_post_state', ['home_post', 'state'], unique=False)
        batch_op.create_index('ix_user_task_return_to', ['return_to'], unique=False)
    op.execute("UPDATE user_task SET home_post = post")

    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('owner_post', sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f('ix_process_instance_owner'), ['owner'], unique=False)


def downgrade():
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_process_instance_owner'))
        batch_op.drop_column('owner_post')
        batch_op.drop_column('owner')

    with op.batch_alter_table('user_task', schema=None) as batch_op:
        batch_op.drop_index('ix_user_task_return_to')
        batch_op.drop_index('ix_user_task_home_post_state')
        batch_op.drop_column('return_to')
        batch_op.drop_column('home_post')

    with op.batch_alter_table('absence', schema=None) as batch_op:
        batch_op.drop_index('ix_absence_user_dates')
        batch_op.drop_index('ix_absence_dates')

    op.drop_table('absence')
    op.drop_table('calendar_year')
    op.drop_table('calendar_day')
