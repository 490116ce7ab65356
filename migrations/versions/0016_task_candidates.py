"""further candidate posts of a task (the comprehensive window accepts for every department); shared cache
generations (a matter record changed on one worker is seen by every worker at once)

Revision ID: 0016_task_candidates
Revises: 0015_intake_notices
"""
import sqlalchemy as sa
from alembic import op

revision = '0016_task_candidates'
down_revision = '0015_intake_notices'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'task_candidate',
        sa.Column('task_id', sa.String(length=36), nullable=False),
        sa.Column('post', sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(['task_id'], ['user_task.id'], name=op.f('fk_task_candidate_task_id_user_task'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('task_id', 'post', name=op.f('pk_task_candidate')),
    )
    op.create_index('ix_task_candidate_post', 'task_candidate', ['post', 'task_id'], unique=False)
    op.create_table(
        'cache_generation',
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('generation', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_cache_generation')),
    )


def downgrade():
    op.drop_table('cache_generation')
    op.drop_index('ix_task_candidate_post', table_name='task_candidate')
    op.drop_table('task_candidate')
