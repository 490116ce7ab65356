"""The matter catalog as a plugin of deployments: a matter's record (`processes/<dept>/<code>.yaml`) deploys
beside its diagram, through the same upload, checks and dry run."""

from __future__ import annotations

from ..hookspecs import hookimpl
from . import service

KIND = "matter"


@hookimpl
def deploy_file_kind(filename: str) -> str | None:
    return KIND if service.is_matter_file(filename) else None


@hookimpl
def deploy_file(kind: str, filename: str, content: bytes, actor: str | None, changelog: str | None) -> dict | None:
    if kind != KIND:
        return None
    matter, created = service.deploy(filename, content, actor, reason=(changelog or "").strip() or None)
    return {"code": matter.code, "name": matter.name, "process_key": matter.process_key,
            "filename": matter.filename, "checksum": matter.checksum, "updated_at": matter.updated_at,
            "version": matter.version, "created": created}
