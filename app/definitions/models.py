"""Deployed process (and decision) definitions: every version kept; the files bootstrap seeded."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models_base import UtcDateTime


class ProcessDefinition(db.Model):
    __tablename__ = "process_definition"
    __table_args__ = (sa.UniqueConstraint("key", "version", name="uq_process_definition_key_version"),
                      sa.Index("ix_process_definition_key_state", "key", "state", "version"))

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(200), index=True)
    version: Mapped[int] = mapped_column(sa.Integer)
    kind: Mapped[str] = mapped_column(sa.String(10), default="bpmn")  # bpmn | dmn
    name: Mapped[str] = mapped_column(sa.String(300))
    filename: Mapped[str] = mapped_column(sa.String(300))
    content: Mapped[str] = mapped_column(sa.Text)
    checksum: Mapped[str] = mapped_column(sa.String(64))
    depends_on: Mapped[list] = mapped_column(sa.JSON, default=list)  # ids of the DMN versions it was built with
    timer_start: Mapped[bool] = mapped_column(default=False)
    deployed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    deployed_by: Mapped[str | None] = mapped_column(sa.String(64))
    # Lifecycle (Camunda's model): suspended versions start no case; a withdrawn one is skipped as "latest".
    state: Mapped[str] = mapped_column(sa.String(20), default="active", server_default="active")
    state_reason: Mapped[str | None] = mapped_column(sa.Text)
    state_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    state_changed_by: Mapped[str | None] = mapped_column(sa.String(64))
    changelog: Mapped[str | None] = mapped_column(sa.Text)
    source: Mapped[str | None] = mapped_column(sa.String(20))  # api | cli | bootstrap


STATES = ("active", "suspended", "withdrawn")


class SeedFile(db.Model):
    """A shipped file (processes/, forms/, hall.yaml) as bootstrap last deployed it: a restart deploys only
    files whose checksum changed, so later deploys through the API or CLI stay the latest."""

    __tablename__ = "seed_file"
    path: Mapped[str] = mapped_column(sa.String(500), primary_key=True)  # e.g. processes/fgj/x.bpmn, forms/a.json
    kind: Mapped[str] = mapped_column(sa.String(20))  # definition | matter | form | hall
    checksum: Mapped[str] = mapped_column(sa.String(64))
    deployed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    refs: Mapped[list] = mapped_column(sa.JSON, default=list)  # definition ids, form ids or matter codes


class DefinitionEvent(db.Model):
    """A definition's lifecycle history: deployed (with changelog and checksum), suspended, activated, withdrawn."""

    __tablename__ = "definition_event"
    __table_args__ = (sa.Index("ix_definition_event_key", "key", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(200))
    version: Mapped[int | None] = mapped_column(sa.Integer)  # None: every version of the key
    action: Mapped[str] = mapped_column(sa.String(30))
    actor: Mapped[str | None] = mapped_column(sa.String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)


class EventStart(db.Model):
    """A version whose process starts on a message or signal: delivery finds it by (kind, name)."""

    __tablename__ = "event_start"
    __table_args__ = (sa.Index("ix_event_start_kind_name", "kind", "name"),
                      sa.Index("ix_event_start_definition", "definition_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(sa.ForeignKey("process_definition.id", ondelete="CASCADE"))
    process_key: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(10))  # message | signal
    name: Mapped[str] = mapped_column(sa.String(200))
