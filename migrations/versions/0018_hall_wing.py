"""the hall wing: the hall's state moves off the runtime's rows into tables it owns (hall_case, hall_task,
case_event — the case's legal course —, people's task_return), keyed by case and task id; department.legal_name

Existing cases keep what their rows said: their clock's figures, owner, number, lights, extensions; their course
is rebuilt from the record (receipt, notices issued, decision, forwarding and reply, extension, end). A case
already accepted counts from its receipt (as it always did); one not yet accepted counts from its acceptance.

Revision ID: 0018_hall_wing
Revises: 0017_web_sessions
"""
import sqlalchemy as sa
from alembic import op

revision = '0018_hall_wing'
down_revision = '0017_web_sessions'
branch_labels = None
depends_on = None

OPEN = "business_key IS NOT NULL AND is_open"
HALL_CASE_COLUMNS = (
    "owner", "owner_post", "matter_code", "window_no", "green_channel", "received_on", "promised_days",
    "paused_days", "paused_since", "due_date", "outcome", "working_days_used", "on_time", "light",
    "supplement_count", "extended_days", "extended_at", "extended_by", "extension_reason", "forwarded_at",
    "forward_clock", "replied_at", "decided_at", "accepted_on_receipt", "case_number")
HALL_TASK_COLUMNS = ("role", "priority", "light", "watch_from", "return_to")
OLD_INSTANCE_INDEXES = (
    "ix_process_instance_due_date", "ix_process_instance_light", "ix_process_instance_matter_code",
    "ix_process_instance_matter_definition", "ix_process_instance_outcome", "ix_process_instance_owner",
    "ix_process_instance_received_department", "ix_process_instance_received_matter",
    "ix_process_instance_received_window", "ix_process_instance_window_no", "uq_process_instance_open_business_key")
OLD_TASK_INDEXES = ("ix_user_task_post_state", "ix_user_task_return_to", "ix_user_task_state_role",
                    "ix_user_task_state_watch")
UTC = sa.DateTime(timezone=True)


def _create_tables():
    op.create_table(
        'hall_case',
        sa.Column('instance_id', sa.String(32), sa.ForeignKey('process_instance.id', ondelete='CASCADE',
                                                              name='fk_hall_case_instance_id_process_instance'),
                  nullable=False),
        sa.Column('matter_code', sa.String(64)),
        sa.Column('department_code', sa.String(32)),
        sa.Column('case_number', sa.String(40)),
        sa.Column('business_key', sa.String(200)),
        sa.Column('is_open', sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column('green_channel', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('owner', sa.String(64)),
        sa.Column('owner_post', sa.String(100)),
        sa.Column('window_no', sa.Integer()),
        sa.Column('received_at', UTC),
        sa.Column('received_on', sa.Date()),
        sa.Column('accepted_on', sa.Date()),
        sa.Column('promised_days', sa.Integer()),
        sa.Column('paused_days', sa.Integer(), server_default='0', nullable=False),
        sa.Column('paused_since', UTC),
        sa.Column('due_date', sa.Date()),
        sa.Column('light', sa.String(10)),
        sa.Column('supplement_count', sa.Integer(), server_default='0', nullable=False),
        sa.Column('accepted_on_receipt', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('extended_days', sa.Integer(), server_default='0', nullable=False),
        sa.Column('extended_at', UTC),
        sa.Column('extended_by', sa.String(64)),
        sa.Column('extension_reason', sa.Text()),
        sa.Column('forwarded_at', UTC),
        sa.Column('forward_clock', sa.String(10)),
        sa.Column('replied_at', UTC),
        sa.Column('decided_at', UTC),
        sa.Column('decision', sa.String(30)),
        sa.Column('decided_by', sa.String(64)),
        sa.Column('deciding_authority', sa.String(200)),
        sa.Column('delivery_due', sa.Date()),
        sa.Column('delivered_at', UTC),
        sa.Column('outcome', sa.String(30)),
        sa.Column('working_days_used', sa.Integer()),
        sa.Column('on_time', sa.Boolean()),
        sa.Column('closed_at', UTC),
        sa.PrimaryKeyConstraint('instance_id', name='pk_hall_case'),
        sa.UniqueConstraint('case_number', name='uq_hall_case_case_number'),
    )
    for name, columns in (("ix_hall_case_matter_code", ["matter_code"]),
                          ("ix_hall_case_department_code", ["department_code"]),
                          ("ix_hall_case_owner", ["owner"]), ("ix_hall_case_window_no", ["window_no"]),
                          ("ix_hall_case_due_date", ["due_date"]), ("ix_hall_case_outcome", ["outcome"]),
                          ("ix_hall_case_open_light", ["is_open", "light"]),
                          ("ix_hall_case_received_window", ["received_on", "window_no"]),
                          ("ix_hall_case_received_department", ["received_on", "department_code"]),
                          ("ix_hall_case_received_matter", ["received_on", "matter_code"])):
        op.create_index(name, 'hall_case', columns)
    op.create_index('uq_hall_case_open_business_key', 'hall_case', ['matter_code', 'business_key'], unique=True,
                    sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
    op.create_table(
        'hall_task',
        sa.Column('task_id', sa.String(36), sa.ForeignKey('user_task.id', ondelete='CASCADE',
                                                          name='fk_hall_task_task_id_user_task'), nullable=False),
        sa.Column('instance_id', sa.String(32), sa.ForeignKey('process_instance.id', ondelete='CASCADE',
                                                              name='fk_hall_task_instance_id_process_instance'),
                  nullable=False),
        sa.Column('role', sa.String(40)),
        sa.Column('priority', sa.Integer(), server_default='0', nullable=False),
        sa.Column('light', sa.String(10)),
        sa.Column('watch_from', UTC),
        sa.PrimaryKeyConstraint('task_id', name='pk_hall_task'),
    )
    op.create_index('ix_hall_task_instance_id', 'hall_task', ['instance_id'])
    op.create_index('ix_hall_task_watch', 'hall_task', ['light', 'watch_from'])
    op.create_index('ix_hall_task_role', 'hall_task', ['role'])
    op.create_table(
        'case_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.String(32), sa.ForeignKey('process_instance.id', ondelete='CASCADE',
                                                              name='fk_case_event_instance_id_process_instance'),
                  nullable=False),
        sa.Column('kind', sa.String(40), nullable=False),
        sa.Column('at', UTC, nullable=False),
        sa.Column('actor', sa.String(64)),
        sa.Column('post', sa.String(100)),
        sa.Column('task_id', sa.String(36)),
        sa.Column('element_id', sa.String(200)),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_case_event'),
    )
    op.create_index('ix_case_event_instance', 'case_event', ['instance_id', 'id'])
    op.create_index('ix_case_event_kind_at', 'case_event', ['kind', 'at'])
    op.create_table(
        'task_return',
        sa.Column('task_id', sa.String(36), sa.ForeignKey('user_task.id', ondelete='CASCADE',
                                                          name='fk_task_return_task_id_user_task'), nullable=False),
        sa.Column('instance_id', sa.String(32), sa.ForeignKey('process_instance.id', ondelete='CASCADE',
                                                              name='fk_task_return_instance_id_process_instance'),
                  nullable=False),
        sa.Column('username', sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint('task_id', name='pk_task_return'),
    )
    op.create_index('ix_task_return_username', 'task_return', ['username'])
    with op.batch_alter_table('department') as batch_op:
        batch_op.add_column(sa.Column('legal_name', sa.String(200)))
        batch_op.add_column(sa.Column('superior', sa.String(200)))
        batch_op.add_column(sa.Column('nature', sa.String(20), server_default='agency', nullable=False))
    op.create_table(
        'hall_setting',
        sa.Column('key', sa.String(60), nullable=False),
        sa.Column('value', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('key', name='pk_hall_setting'),
    )


def _move_data():
    bind = op.get_bind()
    meta = sa.MetaData()
    pi = sa.Table('process_instance', meta, autoload_with=bind)
    ut = sa.Table('user_task', meta, autoload_with=bind)
    hc = sa.Table('hall_case', meta, autoload_with=bind)
    ht = sa.Table('hall_task', meta, autoload_with=bind)
    tr = sa.Table('task_return', meta, autoload_with=bind)
    ev = sa.Table('case_event', meta, autoload_with=bind)
    doc = sa.Table('document', meta, autoload_with=bind)
    is_open = pi.c.state.in_(('running', 'suspended', 'error'))
    accepted = sa.or_(pi.c.accepted_on_receipt.is_(True), pi.c.decided_at.is_not(None),
                      pi.c.forwarded_at.is_not(None), pi.c.state == 'completed',
                      sa.exists().where(doc.c.instance_id == pi.c.id, doc.c.kind == 'acceptance'))
    moved = [c for c in HALL_CASE_COLUMNS]
    bind.execute(hc.insert().from_select(
        [*moved, 'instance_id', 'department_code', 'business_key', 'is_open', 'received_at', 'accepted_on',
         'decision', 'closed_at'],
        sa.select(*[pi.c[c] for c in moved], pi.c.id, pi.c.department_code, pi.c.business_key,
                  sa.case((is_open, sa.true()), else_=sa.false()), pi.c.started_at,
                  sa.case((accepted, pi.c.received_on), else_=sa.null()),
                  sa.case((pi.c.outcome.in_(('granted', 'refused', 'higher_approved', 'higher_rejected')),
                           pi.c.outcome), else_=sa.null()),
                  sa.case((is_open, sa.null()), else_=pi.c.ended_at))
        .where(pi.c.matter_code.is_not(None) | pi.c.owner.is_not(None))))
    bind.execute(ht.insert().from_select(
        ['task_id', 'instance_id', 'role', 'priority', 'light', 'watch_from'],
        sa.select(ut.c.id, ut.c.instance_id, ut.c.role, sa.func.coalesce(ut.c.priority, 0), ut.c.light,
                  ut.c.watch_from)))
    bind.execute(tr.insert().from_select(
        ['task_id', 'instance_id', 'username'],
        sa.select(ut.c.id, ut.c.instance_id, ut.c.return_to).where(ut.c.return_to.is_not(None),
                                                                   ut.c.state == 'open')))
    # the course, rebuilt from the record: each kind from the row or the notice that shows it, in time order
    empty = sa.cast(sa.literal('{}'), sa.JSON) if bind.dialect.name == 'postgresql' else sa.literal('{}')
    matter = pi.c.matter_code.is_not(None)
    parts = []
    for rank, (kind, at, actor, where) in enumerate((
            ('received', pi.c.started_at, pi.c.started_by, matter),
            ('extended', pi.c.extended_at, pi.c.extended_by, matter & pi.c.extended_at.is_not(None)),
            ('decided', pi.c.decided_at, sa.null(), matter & pi.c.decided_at.is_not(None)),
            ('forwarded', pi.c.forwarded_at, sa.null(), matter & pi.c.forwarded_at.is_not(None)),
            ('higher_replied', pi.c.replied_at, sa.null(), matter & pi.c.replied_at.is_not(None)),
            ('cancelled', pi.c.ended_at, sa.null(), matter & (pi.c.state == 'cancelled')),
            ('closed', pi.c.ended_at, sa.null(), matter & pi.c.state.in_(('completed', 'cancelled'))))):
        parts.append(sa.select(pi.c.id.label('instance_id'), sa.literal(kind).label('kind'), at.label('at'),
                               actor.label('actor'), sa.null().label('task_id'), sa.null().label('element_id'),
                               sa.literal(rank * 10).label('rank')).where(where))
    for kind, notice, rank in (('accepted', 'acceptance', 5), ('supplement_notice', 'supplement', 3),
                               ('not_accepted', 'not_accepted', 25), ('delivered', 'delivery', 35)):
        parts.append(sa.select(doc.c.instance_id, sa.literal(kind), doc.c.issued_at, doc.c.issued_by, doc.c.task_id,
                               doc.c.element_id, sa.literal(rank)).where(doc.c.kind == notice))
    every = sa.union_all(*parts).subquery()
    bind.execute(ev.insert().from_select(
        ['instance_id', 'kind', 'at', 'actor', 'task_id', 'element_id', 'data'],
        sa.select(every.c.instance_id, every.c.kind, every.c.at, every.c.actor, every.c.task_id,
                  every.c.element_id, empty).order_by(every.c.instance_id, every.c.at, every.c.rank)))


def upgrade():
    _create_tables()
    _move_data()
    for name in OLD_INSTANCE_INDEXES:
        op.drop_index(name, table_name='process_instance')
    for name in OLD_TASK_INDEXES:
        op.drop_index(name, table_name='user_task')
    with op.batch_alter_table('process_instance') as batch_op:
        batch_op.drop_constraint('uq_process_instance_case_number', type_='unique')
        for column in HALL_CASE_COLUMNS:
            batch_op.drop_column(column)
    with op.batch_alter_table('user_task') as batch_op:
        for column in HALL_TASK_COLUMNS:
            batch_op.drop_column(column)
    op.create_index('ix_user_task_post_state', 'user_task', ['post', 'state', 'created_at'])


def downgrade():
    raise NotImplementedError("the hall wing's tables are not moved back onto the runtime's rows")
