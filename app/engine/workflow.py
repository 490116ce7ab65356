"""The workflow every case runs: SpiffWorkflow's, with called processes found when a case reaches them."""

from __future__ import annotations

from typing import Any, Protocol

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow


class ProcessResolver(Protocol):
    """How the engine finds a process that is not in the caller's own file (the service implements it)."""

    def resolve(self, key: str, binding: str, version: int | None) -> tuple[Any, Any]:
        """(a reference to keep, the compiled process) for a call; LookupError when there is none."""

    def by_ref(self, ref: Any) -> Any:
        """The compiled process a kept reference names (the version a case was bound to)."""

    def decision(self, decision_id: str) -> Any:
        """The DMN engine of the current version of a decision; LookupError when it is not deployed."""


class TongbanWorkflow(BpmnWorkflow):
    """A case's workflow. `bindings` pins each called process to the version first found for this case."""

    def __init__(self, spec, subprocess_specs=None, script_engine=None, resolver: ProcessResolver | None = None,
                 **kwargs) -> None:
        super().__init__(spec, dict(subprocess_specs or {}), script_engine=script_engine, **kwargs)
        self.resolver = resolver
        self.bindings: dict[str, Any] = {}

    def resolve_call(self, call_spec) -> None:
        if self.resolver is None:
            raise LookupError("no resolver")
        ref, process = self.resolver.resolve(call_spec.called_element, call_spec.binding, call_spec.version)
        self.bind(call_spec.spec, ref, process)

    def resolve_decision(self, decision_id: str):
        if self.resolver is None:
            raise LookupError("no resolver")
        return self.resolver.decision(decision_id)

    def bind(self, name: str, ref: Any, process) -> None:
        self.subprocess_specs[name] = process.spec
        for sub_name, sub_spec in process.subprocess_specs.items():
            self.subprocess_specs.setdefault(sub_name, sub_spec)
        self.bindings[name] = ref
