"""Who may receive (start) a case of which matter: a clerk the matters of the departments they serve (their
window's, their posts'; the comprehensive window every department's), as the API and the workbench both ask.
A definition is its catalogued matter's department's, else the department of its diagram's posts."""

from __future__ import annotations

from ..definitions import service as definitions
from ..errors import Forbidden
from ..people import access
from ..people.auth import Principal
from ..people.plugin import department_of
from .supervision.clock import matter_for  # the catalog as the case clock keeps it in memory


def definition_department(definition) -> str | None:
    """Whose matter a definition is: its catalogued matter's department, else its diagram's posts' department."""
    if definition.kind != "bpmn":
        return None
    matter = matter_for(definition.id, definition.key)
    if matter is not None:
        return matter.department_code
    return department_of(definition.id, definitions.compiled(definition))


def may_start(user: Principal, definition, served: frozenset[str] | None = None) -> bool:
    served = access.start_departments(user) if served is None else served
    if served is None:
        return True
    department = definition_department(definition)
    return department is None or department in served


def check_start(user: Principal, definition) -> None:
    """Receiving a case: only of a matter of a department the user serves (403 otherwise), as on the web."""
    if not may_start(user, definition):
        raise Forbidden(f"只能受理本人所在部门的事项：{definition.key} 属于其他部门"
                        f" (you may only start matters of departments you serve)",
                        {"key": definition.key, "department": definition_department(definition),
                         "your_departments": sorted(access.start_departments(user) or ())})
