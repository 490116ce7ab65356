"""Attaching files to a case (and to one of its materials or tasks), reading them back, and commenting.

* The type is read from the content, never from the name or the browser's word: PDF, JPEG and PNG by their
  signatures (the `filetype` package), OFD (GB/T 33190) as a ZIP package whose root holds `OFD.xml`. Anything else
  is 422. Sizes are limited (TONGBAN_ATTACHMENT_MAX_BYTES, 20 MB), an empty file is refused.
* The bytes go to the storage (attachments.storage) under their SHA-256 before the row is written, so a row never
  points at nothing.
* Access follows the case: whoever may see it (people.access.visible_case) lists and downloads; 404 for anyone
  else. Attaching and commenting are for clerks and supervisors who may see it (and admin).
* Each attachment and comment is an audit entry of the case, so the course (办理过程) shows it.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import zipfile

import filetype
import sqlalchemy as sa
from flask import current_app

from ...audit import service as audit
from ...clock import now
from ...errors import Forbidden, Invalid, NotFound
from ...extensions import db
from ...people import access
from ...people.auth import Principal
from ...tasks.models import UserTask
from ..window import fields as hall
from .models import Attachment, Comment
from .storage import storage

TYPES = {"application/pdf": "PDF", "image/jpeg": "JPG", "image/png": "PNG", "application/ofd": "OFD"}
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
MAX_COMMENT = 4000


def max_bytes() -> int:
    return int(current_app.config.get("ATTACHMENT_MAX_BYTES")
               or os.environ.get("TONGBAN_ATTACHMENT_MAX_BYTES") or DEFAULT_MAX_BYTES)


def detect(content: bytes) -> str | None:
    """The content's type by its bytes: one of TYPES, or None."""
    kind = filetype.guess(content[:8192])
    if kind is not None and kind.mime in ("application/pdf", "image/jpeg", "image/png"):
        return kind.mime
    if content[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as package:
                if "OFD.xml" in package.namelist():
                    return "application/ofd"
        except zipfile.BadZipFile:
            return None
    return None


EXTENSIONS = {"application/pdf": (".pdf",), "image/jpeg": (".jpg", ".jpeg"), "image/png": (".png",),
              "application/ofd": (".ofd",)}


def _clean_name(name: str | None, content_type: str) -> str:
    """The name shown and downloaded: no path, no control characters, the extension its content has."""
    base = os.path.basename((name or "").replace("\\", "/")).strip()
    base = re.sub(r"[\x00-\x1f\x7f\"<>|:*?]", "", base)[:200] or "附件"
    if os.path.splitext(base)[1].lower() in EXTENSIONS[content_type]:
        return base
    return base + EXTENSIONS[content_type][0]


def may_attach(user: Principal) -> bool:
    return user.has_role("clerk", "supervisor")


def _check_writer(user: Principal, instance_id: str, task_id: str | None):
    instance = access.visible_case(user, instance_id)
    if not may_attach(user):
        raise Forbidden("只有窗口、审批和督查人员可以上传附件或填写意见", {"instance_id": instance_id})
    if task_id:
        task = db.session.get(UserTask, task_id)
        if task is None or task.instance_id != instance_id:
            raise Invalid(f"任务 {task_id} 不属于该办件", {"errors": [{"field": "task_id", "message": "任务不属于该办件"}]})
    return instance


def attach(user: Principal, instance_id: str, filename: str | None, content: bytes, *, material: str | None = None,
           task_id: str | None = None, note: str | None = None) -> Attachment:
    instance = _check_writer(user, instance_id, task_id)
    limit = max_bytes()
    if not content:
        raise Invalid("文件为空", {"errors": [{"field": "file", "message": "文件为空"}]})
    if len(content) > limit:
        raise Invalid(f"文件过大：{len(content) // 1024} KB，上限 {limit // (1024 * 1024)} MB",
                      {"errors": [{"field": "file", "message": f"文件不能超过 {limit // (1024 * 1024)} MB"}],
                       "size": len(content), "limit": limit}, code="too_large")
    content_type = detect(content)
    if content_type is None:
        raise Invalid("文件类型不支持：只接受 PDF、JPG、PNG、OFD 文件（按文件内容识别，与文件名无关）",
                      {"errors": [{"field": "file", "message": "只接受 PDF、JPG、PNG、OFD 文件"}]},
                      code="unsupported_type")
    material = material.strip()[:200] if isinstance(material, str) and material.strip() else None
    if material is not None:
        from ..intake import matter_materials

        known = {m.get("name") for m in matter_materials(hall.matter_code(instance))}
        if known and material not in known:
            raise Invalid(f"「{material}」不是本事项的申请材料", {"errors": [{"field": "material",
                                                                      "message": "不是本事项的申请材料"}]})
    digest = hashlib.sha256(content).hexdigest()
    storage().put(digest, content)  # first the bytes, then the row that points at them
    row = Attachment(instance_id=instance_id, task_id=task_id or None, material=material,
                     filename=_clean_name(filename, content_type), content_type=content_type, size=len(content),
                     sha256=digest, uploaded_by=user.username, uploaded_at=now(),
                     note=note.strip()[:500] if isinstance(note, str) and note.strip() else None)
    db.session.add(row)
    db.session.flush()
    audit.record("attachment.added", actor=user.username, instance_id=instance_id, task_id=task_id or None,
                 details={"attachment": row.id, "filename": row.filename, "material": material,
                          "content_type": content_type, "size": row.size, "sha256": digest})
    db.session.commit()
    return row


def for_instance(instance_id: str) -> list[Attachment]:
    return list(db.session.scalars(sa.select(Attachment).where(Attachment.instance_id == instance_id)
                                   .order_by(Attachment.id)))


def visible(user: Principal, attachment_id: int) -> Attachment:
    """The attachment if its case is visible to the user; 404 otherwise (as for one that does not exist)."""
    row = db.session.get(Attachment, attachment_id)
    try:
        if row is not None:
            access.visible_case(user, row.instance_id)
            return row
    except NotFound:
        pass
    raise NotFound(f"附件 {attachment_id} 不存在", {"attachment_id": attachment_id})


def content_of(row: Attachment) -> bytes:
    data = storage().get(row.sha256)
    if hashlib.sha256(data).hexdigest() != row.sha256:  # the store was changed behind our back
        raise NotFound(f"附件 {row.id} 的文件已损坏，请联系运维人员", {"attachment_id": row.id})
    return data


# -- comments (审查意见) ---------------------------------------------------------------------------------------
def comment(user: Principal, instance_id: str, text: str | None, *, task_id: str | None = None,
            reply_to: int | None = None) -> Comment:
    _check_writer(user, instance_id, task_id)
    body = text.strip() if isinstance(text, str) else ""
    if not body:
        raise Invalid("请填写意见内容", {"errors": [{"field": "text", "message": "请填写意见内容"}]})
    if len(body) > MAX_COMMENT:
        raise Invalid(f"意见不能超过 {MAX_COMMENT} 个字", {"errors": [{"field": "text",
                                                                "message": f"不能超过 {MAX_COMMENT} 个字"}]})
    if reply_to is not None:
        parent = db.session.get(Comment, reply_to)
        if parent is None or parent.instance_id != instance_id:
            raise Invalid("回复的意见不存在", {"errors": [{"field": "reply_to", "message": "回复的意见不存在"}]})
    row = Comment(instance_id=instance_id, task_id=task_id or None, reply_to=reply_to, author=user.username,
                  at=now(), text=body)
    db.session.add(row)
    db.session.flush()
    audit.record("comment.added", actor=user.username, instance_id=instance_id, task_id=task_id or None,
                 details={"comment": row.id, "text": body[:200], "reply_to": reply_to})
    db.session.commit()
    return row


def comments_for(instance_id: str) -> list[Comment]:
    return list(db.session.scalars(sa.select(Comment).where(Comment.instance_id == instance_id)
                                   .order_by(Comment.id)))


def threads(rows: list[Comment]) -> list[tuple[Comment, list[Comment]]]:
    """Comments as threads: each first comment with its replies (a reply to a reply joins the same thread)."""
    root: dict[int, int] = {}
    out: dict[int, tuple[Comment, list[Comment]]] = {}
    for row in rows:
        if row.reply_to is not None and row.reply_to in root:
            root[row.id] = root[row.reply_to]
            out[root[row.id]][1].append(row)
        else:
            root[row.id] = row.id
            out[row.id] = (row, [])
    return list(out.values())
