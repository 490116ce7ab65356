"""Delivering BPMN messages to the cases waiting for them."""

from __future__ import annotations

from typing import Any

from ..engine.errors import CaseFailed
from ..errors import Invalid, NotFound
from ..extensions import db
from ..instances import runtime
from ..instances.service import case_failed
from .models import MessageSubscription


def deliver(name: str, *, business_key: str | None, instance_id: str | None, data: dict[str, Any],
            actor: str | None, all_matches: bool = False) -> list[str]:
    """Deliver to the waiting cases that match; returns their ids. 404 when nobody waits for it."""
    if not business_key and not instance_id and not all_matches:
        raise Invalid("请指定 business_key 或 instance_id 来关联消息，或设置 all=true",
                      {"fields": ["business_key", "instance_id"]})
    query = db.select(MessageSubscription.instance_id).where(MessageSubscription.name == name).distinct()
    if business_key:
        query = query.where(MessageSubscription.business_key == business_key)
    if instance_id:
        query = query.where(MessageSubscription.instance_id == instance_id)
    targets = list(db.session.scalars(query.order_by(MessageSubscription.instance_id)))
    if not targets:
        raise NotFound(f"没有办件在等待消息 {name}", {"name": name, "business_key": business_key,
                                                     "instance_id": instance_id})
    # Every matching case takes its step in one transaction: if one fails, none has moved.
    delivered, saves = [], []
    for target in targets:  # locked in id order, the case rows before their subscription and task rows
        instance = runtime.lock(target)
        if instance is None or instance.state != "running":
            continue
        case = runtime.load(instance)
        try:
            if not case.deliver_message(name, data):
                continue
        except CaseFailed as exc:
            db.session.rollback()
            raise case_failed(exc) from None
        saves.append(runtime.save(instance, case, actor=actor, action="message.delivered",
                                  details={"name": name, "data": data}, commit=False))
        delivered.append(target)
    runtime.commit_all(saves)
    return delivered
