"""matter_version: each matter record's history (effective date, who, why); the version a case was received under

Existing records become version 1 (in force since the matter is, its record's effective_from, else since it was
loaded; reason 初始版本); existing cases of a catalogued matter were received under it.

Revision ID: 0024_matter_versions
Revises: 0023_special_pauses
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0024_matter_versions'
down_revision = '0023_special_pauses'
branch_labels = None
depends_on = None

BACKFILL_REASON = '初始版本（版本记录启用前已载入的事项记录）'


def upgrade():
    op.create_table(
        'matter_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('matter_code', sa.String(length=40), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('record', sa.JSON(), nullable=False),
        sa.Column('promised_days', sa.Integer(), nullable=False),
        sa.Column('statutory_days', sa.Integer(), nullable=False),
        sa.Column('effective_from', sa.Date(), nullable=False),
        sa.Column('changed_by', sa.String(length=64), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['matter_code'], ['matter.code'], name=op.f('fk_matter_version_matter_code_matter'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_matter_version')),
    )
    with op.batch_alter_table('matter_version') as batch:
        batch.create_index('ix_matter_version_code_version', ['matter_code', 'version'], unique=True)
        batch.create_index('ix_matter_version_pending', ['applied_at', 'effective_from'], unique=False)
    with op.batch_alter_table('matter') as batch:
        batch.add_column(sa.Column('version', sa.Integer(), nullable=True))
    with op.batch_alter_table('hall_case') as batch:
        batch.add_column(sa.Column('matter_version', sa.Integer(), nullable=True))

    # version 1 of every record loaded so far, in force since the matter is (else since it was loaded)
    bind = op.get_bind()
    matter = sa.table('matter', sa.column('code', sa.String), sa.column('record', sa.JSON),
                      sa.column('promised_days', sa.Integer), sa.column('statutory_days', sa.Integer),
                      sa.column('updated_by', sa.String), sa.column('updated_at', sa.DateTime(timezone=True)),
                      sa.column('effective_from', sa.Date), sa.column('version', sa.Integer))
    version = sa.table('matter_version', sa.column('matter_code', sa.String), sa.column('version', sa.Integer),
                       sa.column('record', sa.JSON), sa.column('promised_days', sa.Integer),
                       sa.column('statutory_days', sa.Integer), sa.column('effective_from', sa.Date),
                       sa.column('changed_by', sa.String), sa.column('reason', sa.Text),
                       sa.column('changed_at', sa.DateTime(timezone=True)),
                       sa.column('applied_at', sa.DateTime(timezone=True)))
    from zoneinfo import ZoneInfo

    shanghai = ZoneInfo('Asia/Shanghai')
    moment = datetime.now(UTC)
    rows = []
    for code, record, promised, statutory, by, at, since in bind.execute(sa.select(
            matter.c.code, matter.c.record, matter.c.promised_days, matter.c.statutory_days, matter.c.updated_by,
            matter.c.updated_at, matter.c.effective_from)):
        at = at if at is None or at.tzinfo is not None else at.replace(tzinfo=UTC)
        loaded = (at or moment).astimezone(shanghai).date()
        rows.append({'matter_code': code, 'version': 1, 'record': record or {}, 'promised_days': promised or 0,
                     'statutory_days': statutory or 0,
                     'effective_from': min(since, loaded) if since is not None else loaded, 'changed_by': by,
                     'reason': BACKFILL_REASON, 'changed_at': _stored(bind, at or moment),
                     'applied_at': _stored(bind, moment)})
    if rows:
        op.bulk_insert(version, rows)
    bind.execute(matter.update().values(version=1))
    case = sa.table('hall_case', sa.column('matter_code', sa.String), sa.column('matter_version', sa.Integer))
    bind.execute(case.update().where(case.c.matter_code.in_(sa.select(matter.c.code))).values(matter_version=1))


def _stored(bind, moment: datetime):
    """UTC, as the models store it: naive on SQLite, aware on PostgreSQL."""
    moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None) if bind.dialect.name == 'sqlite' else moment


def downgrade():
    with op.batch_alter_table('hall_case') as batch:
        batch.drop_column('matter_version')
    with op.batch_alter_table('matter') as batch:
        batch.drop_column('version')
    with op.batch_alter_table('matter_version') as batch:
        batch.drop_index('ix_matter_version_pending')
        batch.drop_index('ix_matter_version_code_version')
    op.drop_table('matter_version')
