"""post_tally: open tasks per post kept as changes by triggers on user_task (GET /posts reads a few rows a post,
not every open task)

Revision ID: 0027_post_tally
Revises: 0026_sweep_look_on
"""
import sqlalchemy as sa
from alembic import op

revision = '0027_post_tally'
down_revision = '0026_sweep_look_on'
branch_labels = None
depends_on = None

# a task counts at its post while it is open; a change of state, post or claim moves it
CHANGED = ("(OLD.state IS DISTINCT FROM NEW.state OR OLD.post IS DISTINCT FROM NEW.post "
           "OR (OLD.assignee IS NULL) <> (NEW.assignee IS NULL))")
ENTERS = "NEW.state = 'open' AND NEW.post IS NOT NULL"
LEAVES = "OLD.state = 'open' AND OLD.post IS NOT NULL"

POSTGRESQL = [
    """CREATE FUNCTION post_tally_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.state = 'open' AND OLD.post IS NOT NULL THEN
        INSERT INTO post_tally (post, open_tasks, claimed_tasks)
        VALUES (OLD.post, -1, CASE WHEN OLD.assignee IS NULL THEN 0 ELSE -1 END);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.state = 'open' AND NEW.post IS NOT NULL THEN
        INSERT INTO post_tally (post, open_tasks, claimed_tasks)
        VALUES (NEW.post, 1, CASE WHEN NEW.assignee IS NULL THEN 0 ELSE 1 END);
    END IF;
    RETURN NULL;
END $$""",
    f"""CREATE TRIGGER user_task_tally_insert AFTER INSERT ON user_task FOR EACH ROW WHEN ({ENTERS})
    EXECUTE FUNCTION post_tally_change()""",
    f"""CREATE TRIGGER user_task_tally_update AFTER UPDATE OF state, post, assignee ON user_task FOR EACH ROW
    WHEN {CHANGED} EXECUTE FUNCTION post_tally_change()""",
    f"""CREATE TRIGGER user_task_tally_delete AFTER DELETE ON user_task FOR EACH ROW WHEN ({LEAVES})
    EXECUTE FUNCTION post_tally_change()""",
]

_IN = "INSERT INTO post_tally (post, open_tasks, claimed_tasks) VALUES (NEW.post, 1, NEW.assignee IS NOT NULL);"
_OUT = "INSERT INTO post_tally (post, open_tasks, claimed_tasks) VALUES (OLD.post, -1, -(OLD.assignee IS NOT NULL));"
SQLITE = [
    f"CREATE TRIGGER user_task_tally_insert AFTER INSERT ON user_task WHEN {ENTERS} BEGIN {_IN} END",
    f"""CREATE TRIGGER user_task_tally_update_out AFTER UPDATE OF state, post, assignee ON user_task
    WHEN {LEAVES} AND {CHANGED.replace('IS DISTINCT FROM', 'IS NOT')} BEGIN {_OUT} END""",
    f"""CREATE TRIGGER user_task_tally_update_in AFTER UPDATE OF state, post, assignee ON user_task
    WHEN {ENTERS} AND {CHANGED.replace('IS DISTINCT FROM', 'IS NOT')} BEGIN {_IN} END""",
    f"CREATE TRIGGER user_task_tally_delete AFTER DELETE ON user_task WHEN {LEAVES} BEGIN {_OUT} END",
]


def upgrade():
    op.create_table(
        'post_tally',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('post', sa.String(length=100), nullable=False),
        sa.Column('open_tasks', sa.Integer(), nullable=False),
        sa.Column('claimed_tasks', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_post_tally')),
    )
    # today's open work, one row per post, before the triggers take over (in the same transaction on PostgreSQL)
    op.execute("INSERT INTO post_tally (post, open_tasks, claimed_tasks) SELECT post, count(*), count(assignee) "
               "FROM user_task WHERE state = 'open' AND post IS NOT NULL GROUP BY post")
    for statement in POSTGRESQL if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS user_task_tally_{name} ON user_task")
        op.execute("DROP FUNCTION IF EXISTS post_tally_change()")
    else:
        for name in ("insert", "update_out", "update_in", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS user_task_tally_{name}")
    op.drop_table('post_tally')
