"""The supervision sweep visits what can change: each open case and step keeps the first date (a step's light, the
moment) its verdict can change, so that a sweep with nothing due reads nothing

Revision ID: 0026_sweep_look_on
Revises: 0025_scale_reads
"""
import sqlalchemy as sa
from alembic import op

revision = '0026_sweep_look_on'
down_revision = '0025_scale_reads'
branch_labels = None
depends_on = None

LOOK_NOW = '2000-01-01'  # every open row is looked at once by the first sweep, which writes its real date


def upgrade():
    for table in ('hall_case', 'hall_task'):
        with op.batch_alter_table(table) as batch:  # closed rows keep NULL: never looked at
            batch.add_column(sa.Column('look_on', sa.Date(), nullable=True))
        op.execute(f"UPDATE {table} SET look_on = '{LOOK_NOW}' WHERE is_open")
        with op.batch_alter_table(table) as batch:
            batch.alter_column('look_on', server_default=LOOK_NOW, existing_type=sa.Date(), existing_nullable=True)
    # a step's light to look at now has the same mark (it was NULL before)
    at = "2000-01-01 00:00:00+00" if op.get_bind().dialect.name == "postgresql" else "2000-01-01 00:00:00.000000"
    op.execute(f"UPDATE hall_task SET watch_from = '{at}' WHERE is_open AND watch_from IS NULL "
               "AND light IN ('green', 'yellow')")
    is_open = sa.text('is_open')
    op.create_index('ix_hall_case_open_look', 'hall_case', ['look_on'], sqlite_where=is_open,
                    postgresql_where=is_open)
    op.drop_index('ix_hall_task_open_role', table_name='hall_task')
    op.create_index('ix_hall_task_open_role', 'hall_task', ['role', 'look_on'], sqlite_where=is_open,
                    postgresql_where=is_open)


def downgrade():
    is_open = sa.text('is_open')
    op.drop_index('ix_hall_task_open_role', table_name='hall_task')
    op.create_index('ix_hall_task_open_role', 'hall_task', ['role'], sqlite_where=is_open, postgresql_where=is_open)
    op.drop_index('ix_hall_case_open_look', table_name='hall_case')
    for table in ('hall_task', 'hall_case'):
        with op.batch_alter_table(table) as batch:
            batch.drop_column('look_on')
