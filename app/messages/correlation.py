"""Which case a message thrown by another case is for: the correlation of a collaboration split into cases.

SpiffWorkflow runs the pools of a collaboration as one workflow, where a reply simply finds the task waiting for
it. Here each pool's process is a case of its own, so a thrown message is routed, in this order:
1. by declared correlation keys (bpmn:correlationKey / correlationProperty, SpiffWorkflow's correlation
   properties): to the cases waiting for the message whose (sub)process holds the same value of one of its keys;
2. by conversation: a case started by another case's message joins that case's conversation, and a message
   thrown inside a conversation goes to the other cases of it that wait for it (the implicit correlation: no
   business key needed, three pools as well as two, either way);
3. by the thrower's business key; 4. else it starts the processes that begin with it (in the conversation).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..engine.case import canonical_correlations
from ..extensions import db
from ..hookspecs import StepResult
from .models import CaseConversation, MessageSubscription, SubscriptionCorrelation

_ROWS = SubscriptionCorrelation.__table__


def sync_correlations(result: StepResult) -> None:
    """Keep each waiting message's correlation rows with the step (writes only where keys are declared)."""
    before = {(m.task_id, m.name): m.correlations for m in result.before.messages if m.correlations}
    after = {(m.task_id, m.name): m.correlations for m in result.after.messages if m.correlations}
    if before == after:
        return
    connection = db.session.connection()
    instance_id = result.instance.id
    gone = [task_id for (task_id, name), keys in before.items() if after.get((task_id, name)) != keys]
    if gone:
        connection.execute(_ROWS.delete().where(_ROWS.c.instance_id == instance_id, _ROWS.c.task_id.in_(gone)))
    rows = [{"instance_id": instance_id, "task_id": task_id, "name": name, "key": key, "value": value}
            for (task_id, name), keys in after.items() if before.get((task_id, name)) != keys
            for key, value in keys]
    if rows:
        connection.execute(_ROWS.insert(), rows)


def by_keys(name: str, correlations: dict[str, Any], exclude: str | None) -> list[str]:
    """Cases waiting for `name` whose declared correlation holds one of these key values."""
    pairs = canonical_correlations(correlations)
    if not pairs:
        return []
    match = sa.or_(*(sa.and_(SubscriptionCorrelation.key == key, SubscriptionCorrelation.value == value)
                     for key, value in pairs))
    query = (sa.select(SubscriptionCorrelation.instance_id).where(SubscriptionCorrelation.name == name, match)
             .distinct())
    if exclude:
        query = query.where(SubscriptionCorrelation.instance_id != exclude)
    return sorted(db.session.scalars(query))


def conversation_of(instance_id: str) -> str:
    """The conversation a case belongs to: the one a message started it in, else the one it may begin."""
    found = db.session.scalar(sa.select(CaseConversation.conversation_id)
                              .where(CaseConversation.instance_id == instance_id))
    return found or instance_id


def in_conversation(name: str, instance_id: str) -> list[str]:
    """The other cases of the thrower's conversation that wait for message `name`."""
    conversation = conversation_of(instance_id)
    members = sa.select(CaseConversation.instance_id).where(CaseConversation.conversation_id == conversation)
    query = (sa.select(MessageSubscription.instance_id)
             .where(MessageSubscription.kind == "message", MessageSubscription.name == name,
                    MessageSubscription.instance_id != instance_id,
                    sa.or_(MessageSubscription.instance_id == conversation,
                           MessageSubscription.instance_id.in_(members)))
             .distinct())
    return sorted(db.session.scalars(query))


def join(instance_id: str, started_by: str) -> None:
    """A case a message of `started_by` started joins its conversation (same transaction as the start)."""
    db.session.add(CaseConversation(instance_id=instance_id, conversation_id=conversation_of(started_by),
                                    started_by=started_by))
