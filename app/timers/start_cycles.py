"""A cycle on a process's start event starts a case at each firing (BPMN), never a loop inside one case.

The case armed by a deployment waits on its start event; when the cycle fires, that case runs its path once
(`engine.timers.ClockedStartCycle`) and, in the same transaction, the next case is armed for the cycle's next
firing with the cycles left (`engine.timers.next_start_cycle`). A firing that is the cycle's last arms none.
"""

from __future__ import annotations

import logging

from ..audit import service as audit
from ..clock import now
from ..definitions.models import ProcessDefinition
from ..engine.timers import next_start_cycle
from ..errors import ApiError
from ..extensions import db
from ..instances import runtime

log = logging.getLogger(__name__)


def arm_next(instance, case, state: dict | None, saved: runtime.Saved) -> None:
    """After a timer start's case fired (saved, not committed): arm the next case of the cycle; commit both.

    `state`: the cycle's state before the firing (`Case.pending_start_cycle`), None for no start cycle.
    """
    from ..instances import service as instances

    saves = [saved]
    following = next_start_cycle(state, now()) if state is not None and case.pending_start_cycle() is None \
        else None
    if following is not None:
        definition = db.session.get(ProcessDefinition, instance.definition_id)
        try:  # refusals come before anything of the new case is written: the firing itself stands
            _, armed = instances.start(definition, {}, None, instances.TIMER_START_ACTOR, commit=False,
                                       start_cycle=following)
            saves.append(armed)
        except ApiError as exc:
            log.warning("the start cycle of %s v%s stops: %s", definition.key, definition.version, exc.message)
            audit.record("definition.timer_start_failed", actor=instances.TIMER_START_ACTOR,
                         element_id=definition.key, details={"version": definition.version, "error": exc.message})
    runtime.commit_all(saves)
