"""case_party: who takes part in a case through its tasks (a user who holds or completed one, a post one is
routed to or comes from), kept exact by triggers on user_task, with the case's start time — a clerk's case list
walks it newest first instead of probing every newer case for their part in it

Revision ID: 0029_case_party
Revises: 0028_timer_attempt_start
"""
import sqlalchemy as sa
from alembic import op

revision = '0029_case_party'
down_revision = '0028_timer_attempt_start'
branch_labels = None
depends_on = None

COLUMNS = ("assignee", "completed_by", "post", "home_post")


def _parties(row: str) -> str:
    """The distinct parties a task row names (NULL for a column it leaves empty)."""
    return " UNION ".join(f"SELECT '{'u' if c in ('assignee', 'completed_by') else 'p'}:' || {row}.{c} AS party"
                          for c in COLUMNS)


def _add(but_old: bool) -> str:
    """+1 for each party of the new row (that the old row did not name)."""
    unless = f" AND party NOT IN (SELECT party FROM ({_parties('OLD')}) o WHERE party IS NOT NULL)" if but_old else ""
    return ("INSERT INTO case_party (instance_id, party, tasks, started_at) "
            "SELECT NEW.instance_id, party, 1, (SELECT started_at FROM process_instance WHERE id = NEW.instance_id) "
            f"FROM ({_parties('NEW')}) n WHERE party IS NOT NULL{unless} "
            "ON CONFLICT (instance_id, party) DO UPDATE SET tasks = case_party.tasks + 1;")


def _drop(but_new: bool) -> str:
    """-1 for each party of the old row (that the new row no longer names), and a row at 0 goes."""
    unless = f" AND party NOT IN (SELECT party FROM ({_parties('NEW')}) n WHERE party IS NOT NULL)" if but_new else ""
    return (f"UPDATE case_party SET tasks = tasks - 1 WHERE instance_id = OLD.instance_id AND party IN "
            f"(SELECT party FROM ({_parties('OLD')}) o WHERE party IS NOT NULL{unless}); "
            "DELETE FROM case_party WHERE instance_id = OLD.instance_id AND tasks <= 0;")


CHANGED = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in COLUMNS)
OF = ", ".join(COLUMNS)

POSTGRESQL = [
    f"""CREATE FUNCTION case_party_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_add(False)}
    ELSIF TG_OP = 'UPDATE' THEN
        {_drop(True)}
        {_add(True)}
    ELSE
        {_drop(False)}
    END IF;
    RETURN NULL;
END $$""",
    "CREATE TRIGGER user_task_party_insert AFTER INSERT ON user_task FOR EACH ROW EXECUTE FUNCTION case_party_change()",
    f"""CREATE TRIGGER user_task_party_update AFTER UPDATE OF {OF} ON user_task FOR EACH ROW WHEN ({CHANGED})
    EXECUTE FUNCTION case_party_change()""",
    "CREATE TRIGGER user_task_party_delete AFTER DELETE ON user_task FOR EACH ROW EXECUTE FUNCTION case_party_change()",
]

SQLITE = [
    f"CREATE TRIGGER user_task_party_insert AFTER INSERT ON user_task BEGIN {_add(False)} END",
    f"""CREATE TRIGGER user_task_party_update AFTER UPDATE OF {OF} ON user_task
    WHEN {CHANGED.replace('IS DISTINCT FROM', 'IS NOT')} BEGIN {_drop(True)} {_add(True)} END""",
    f"CREATE TRIGGER user_task_party_delete AFTER DELETE ON user_task BEGIN {_drop(False)} END",
]


def upgrade():
    op.create_table(
        'case_party',
        sa.Column('instance_id', sa.String(length=32), nullable=False),
        sa.Column('party', sa.String(length=110), nullable=False),
        sa.Column('tasks', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'],
                                name=op.f('fk_case_party_instance_id_process_instance'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('instance_id', 'party', name=op.f('pk_case_party')),
    )
    # the tasks already there, before the triggers take over (in the same transaction on PostgreSQL)
    each = " UNION ALL ".join(
        f"SELECT id, instance_id, '{'u' if c in ('assignee', 'completed_by') else 'p'}:' || {c} AS party "
        f"FROM user_task WHERE {c} IS NOT NULL" for c in COLUMNS)
    op.execute("INSERT INTO case_party (instance_id, party, tasks, started_at) "
               "SELECT t.instance_id, t.party, count(DISTINCT t.id), min(c.started_at) "
               f"FROM ({each}) t JOIN process_instance c ON c.id = t.instance_id GROUP BY t.instance_id, t.party")
    op.create_index('ix_case_party_walk', 'case_party', ['party', sa.text('started_at DESC'), 'instance_id'])
    for statement in POSTGRESQL if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS user_task_party_{name} ON user_task")
        op.execute("DROP FUNCTION IF EXISTS case_party_change()")
    else:
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS user_task_party_{name}")
    op.drop_index('ix_case_party_walk', table_name='case_party')
    op.drop_table('case_party')
