"""Bootstrap (`flask bootstrap`, run by tools/serve at every start): seed the hall, forms and processes where they
are new or their shipped file changed, and make sure the admin has a token. It never overrides what was deployed
or changed through the API or CLI since: each shipped file's checksum is remembered (table `seed_file`)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from flask import Flask

from .definitions import flows
from .definitions.models import SeedFile
from .errors import ApiError, Invalid
from .extensions import db
from .forms import service as forms
from .forms.models import Form
from .hall import setting
from .matters import service as matters
from .matters.models import Matter
from .people import service as people
from .tasks.service import backfill_candidates  # open tasks of before migration 0016: their other posts
from .web.passwords import seed_demo  # the web workbench: demo people get the demo password once


def bootstrap(app: Flask, *, admin_token: str | None = None, load_processes: bool = True) -> dict:
    """Seed the hall, forms and processes where they are new or their shipped file changed; make sure the
    admin has a token. Never overrides what was deployed or changed through the API or CLI since."""

    summary: dict = {}
    processes = Path(app.config["PROCESSES_DIR"])
    hall = processes / "hall.yaml"
    if hall.exists():
        summary["hall"] = seed_hall(hall) or "unchanged"
        summary["web_passwords"] = seed_demo(hall)
    _, token = people.ensure_admin(admin_token)
    db.session.commit()
    summary["admin_token"] = token
    forms_dir = Path(app.config["FORMS_DIR"])
    if forms_dir.exists():
        summary["forms"] = seed_forms(forms_dir)
    if load_processes and processes.exists():
        outcome = seed_processes(processes)
        summary["definitions"] = sum(1 for _, created in outcome.deployed if created)
        summary["matters"] = sum(1 for f in outcome.files if f.kind == "matter" and f.record and f.record["created"])
    added = backfill_candidates()
    db.session.commit()
    if added:
        summary["task_candidates"] = added
    return summary


def shipped_files(root: Path) -> list[Path]:
    """The diagrams and matter records of a processes/ folder (hall.yaml is seeded on its own)."""
    paths = [p for pattern in ("*.dmn", "*.bpmn", "*.yaml", "*.yml") for p in root.rglob(pattern)]
    return sorted(p for p in paths if p.suffix in (".dmn", ".bpmn") or matters.is_matter_file(p.name))


def seed_processes(root: Path, actor: str = "system") -> flows.Outcome:
    """Deploy the shipped files that are new or changed since bootstrap last deployed them; nothing else.

    A version deployed later through the API or CLI stays the latest until someone deploys again; a matter
    record changed through the API is not overwritten by an unchanged shipped file.
    """
    known = flows.seeds()
    uploads = []
    for path in shipped_files(root):
        relative = path.relative_to(root).as_posix()
        content = path.read_bytes()
        seed_path = f"processes/{relative}"
        seen = known.get(seed_path)
        if seen is not None and seen.checksum == flows.checksum(content):
            continue
        upload = flows.Upload(relative, content, seed_path=seed_path, skip_known=seen is None)
        if upload.kind == "matter" and seen is None and _matter_kept(relative, content):
            flows.remember_seed(seed_path, "matter", flows.checksum(content), [])
            continue
        uploads.append(upload)
    if not uploads:
        db.session.commit()
        return flows.Outcome(files=[])
    return flows.deploy(uploads, actor, source="bootstrap")


def _matter_kept(filename: str, content: bytes) -> bool:
    """A database from before seeds were remembered: a matter record someone changed stays as it is."""
    try:
        code = matters.parse(filename, content).get("code")
    except ApiError:
        return False
    matter = db.session.get(Matter, code) if isinstance(code, str) else None
    return matter is not None and matter.updated_by not in (None, "system")


def seed_forms(root: Path, actor: str = "system") -> int:
    """Deploy the shipped forms that are new or changed since bootstrap last deployed them; returns how many."""
    known = flows.seeds()
    created = 0
    for path in sorted(root.rglob("*.json")):
        relative = path.relative_to(root).as_posix()
        content = path.read_bytes()
        seed_path, digest = f"forms/{relative}", flows.checksum(content)
        seen = known.get(seed_path)
        if seen is not None and seen.checksum == digest:
            continue
        try:
            schema = json.loads(content.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise Invalid(f"表单文件不是有效 JSON: {exc}", {"file": str(path)}) from None
        key = path.relative_to(root).with_suffix("").as_posix()
        if seen is None and _form_known(key, schema):
            flows.remember_seed(seed_path, "form", digest, [])
            continue
        form, was_new = forms.deploy(key, schema, actor, filename=str(path))
        created += was_new
        flows.remember_seed(seed_path, "form", digest, [form.id])
    db.session.commit()
    return created


def _form_known(key: str, schema: dict) -> bool:
    digest = forms._checksum(schema)
    return db.session.scalar(db.select(Form.id).where(Form.key == key, Form.checksum == digest).limit(1)) is not None


def seed_hall(path: Path) -> dict | None:
    """Create the hall once and add what is missing when hall.yaml changes; never reset what the API changed."""
    setting.seed(yaml.safe_load(path.read_text(encoding="utf-8")) or {})  # the district, the higher authorities
    content = path.read_bytes()
    digest = flows.checksum(content)
    seen = db.session.get(SeedFile, "hall.yaml")
    if seen is not None and seen.checksum == digest:
        return None
    added = people.seed_hall(path)
    flows.remember_seed("hall.yaml", "hall", digest, [])
    db.session.flush()
    return added
