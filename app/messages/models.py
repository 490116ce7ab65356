"""Which cases wait for which BPMN message: delivery looks these rows up by name (defined with the case's other
rows in app/instances/models.py, written by the runtime)."""

from ..instances.models import MessageSubscription

__all__ = ["MessageSubscription"]
