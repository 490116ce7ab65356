"""Forgetting a case's finished past, so that a step costs the same at step 5 and at step 5,000.

SpiffWorkflow keeps every task a case ever had in one tree, and each loop adds nodes; walking, snapshotting
and serializing that tree grows with the case's history (and past ~1,000 levels its iterator stops looking).
The audit trail keeps the history; the engine only needs the part of the tree that can still change: the
deepest finished task above every unfinished one becomes the new root, and what hangs outside it is dropped.
"""

from __future__ import annotations

from SpiffWorkflow.util.task import TaskState


def prune_finished_history(workflow) -> int:
    """Re-root the task tree at the deepest completed task that holds every unfinished task; returns tasks dropped."""
    tasks = workflow.tasks
    unfinished = [t for t in tasks.values() if not t.has_state(TaskState.FINISHED_MASK)]
    if not unfinished:
        return 0
    holding: dict = {}  # task id -> how many unfinished tasks lie at or below it
    for task in unfinished:
        node = task
        while node is not None:
            holding[node.id] = holding.get(node.id, 0) + 1
            node = tasks.get(node._parent) if node._parent is not None else None
    total = len(unfinished)
    root = workflow.task_tree
    keep = root
    node = root
    while node.state == TaskState.COMPLETED and holding.get(node.id) == total:
        keep = node
        below = [tasks[c] for c in node._children if holding.get(c) == total]
        if len(below) != 1:
            break
        node = below[0]
    if keep is root:
        return 0
    kept = set()
    stack = [keep]
    while stack:
        current = stack.pop()
        kept.add(current.id)
        stack.extend(tasks[c] for c in current._children if c in tasks)
    dropped = [task_id for task_id in tasks if task_id not in kept]
    for task_id in dropped:
        del tasks[task_id]
        workflow.subprocesses.pop(task_id, None)  # a finished call activity's own tree goes with its task
    keep._parent = None
    workflow.task_tree = keep
    if workflow.last_task is not None and workflow.last_task.id not in kept:
        workflow.last_task = keep
    return len(dropped)
