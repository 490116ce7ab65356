"""/api/v1/instances/{id}/attachments, /api/v1/attachments/{id}, /api/v1/instances/{id}/comments."""

from __future__ import annotations

from flask import Response, request
from flask.views import MethodView
from marshmallow import fields, validate

from ..errors import Invalid
from ..hall.attachments import service
from ..people import access
from ..people.auth import current_user, require
from ..schemas import ApiSchema, LocalDateTime
from .blueprint import Blueprint

blp = Blueprint("attachments", __name__, url_prefix="/api/v1", description="附件（扫描材料）与审查意见")


class AttachmentSchema(ApiSchema):
    id = fields.Integer()
    instance_id = fields.String()
    task_id = fields.String(allow_none=True)
    material = fields.String(allow_none=True, metadata={"description": "the matter's material it is a scan of"})
    filename = fields.String()
    content_type = fields.String(metadata={"description": "detected from the content: application/pdf | image/jpeg "
                                                          "| image/png | application/ofd"})
    size = fields.Integer()
    sha256 = fields.String()
    uploaded_by = fields.String(allow_none=True)
    uploaded_at = LocalDateTime()
    note = fields.String(allow_none=True)


class AttachmentListSchema(ApiSchema):
    items = fields.List(fields.Nested(AttachmentSchema))


class UploadSchema(ApiSchema):
    material = fields.String(load_default=None, validate=validate.Length(max=200))
    task_id = fields.String(load_default=None, validate=validate.Length(max=64))
    note = fields.String(load_default=None, validate=validate.Length(max=500))


class CommentSchema(ApiSchema):
    id = fields.Integer()
    instance_id = fields.String()
    task_id = fields.String(allow_none=True)
    reply_to = fields.Integer(allow_none=True)
    author = fields.String()
    at = LocalDateTime()
    text = fields.String()


class CommentListSchema(ApiSchema):
    items = fields.List(fields.Nested(CommentSchema))


class NewCommentSchema(ApiSchema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=service.MAX_COMMENT))
    task_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    reply_to = fields.Integer(load_default=None, allow_none=True)


def allow_upload() -> None:
    """An upload may be larger than other requests (MAX_CONTENT_LENGTH): the attachment limit and the form fields
    around the file. Set before anything reads the form (argument parsing, CSRF)."""
    request.max_content_length = service.max_bytes() + 256 * 1024


@blp.before_request
def _upload_limit() -> None:
    if request.method == "POST" and request.endpoint == "attachments.CaseAttachments":
        allow_upload()


def read_upload() -> tuple[str | None, bytes]:
    """The one file of a multipart upload (`file`), read whole; a request larger than the limit is a 413."""
    upload = request.files.get("file")
    if upload is None:
        raise Invalid("请选择要上传的文件（表单字段 file）", {"errors": [{"field": "file", "message": "请选择文件"}]})
    return upload.filename, upload.read(service.max_bytes() + 1)


@blp.route("/instances/<instance_id>/attachments")
class CaseAttachments(MethodView):
    @require()
    @blp.response(200, AttachmentListSchema)
    def get(self, instance_id):
        """The case's attachments, oldest first (404 for a case one may not see)."""
        access.visible_case(current_user(), instance_id)
        return {"items": service.for_instance(instance_id)}

    @require("clerk", "supervisor")
    @blp.arguments(UploadSchema, location="form")
    @blp.response(201, AttachmentSchema)
    def post(self, form, instance_id):
        """Attach a file (multipart `file`; `material`, `task_id`, `note` optional): PDF, JPG, PNG or OFD by its
        content, at most TONGBAN_ATTACHMENT_MAX_BYTES (20 MB); stored outside the database under its SHA-256."""
        name, content = read_upload()
        return service.attach(current_user(), instance_id, name, content, material=form.get("material"),
                              task_id=form.get("task_id"), note=form.get("note"))


@blp.route("/attachments/<int:attachment_id>")
class AttachmentFile(MethodView):
    @require()
    @blp.response(200, content_type="application/octet-stream")
    def get(self, attachment_id):
        """The file as uploaded (404 for an attachment of a case one may not see)."""
        row = service.visible(current_user(), attachment_id)
        return download(row)


def download(row) -> Response:
    from urllib.parse import quote

    return Response(service.content_of(row), mimetype=row.content_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(row.filename)}",
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


@blp.route("/instances/<instance_id>/comments")
class CaseComments(MethodView):
    @require()
    @blp.response(200, CommentListSchema)
    def get(self, instance_id):
        """The case's comments (审查意见), oldest first, with the task each was made at."""
        access.visible_case(current_user(), instance_id)
        return {"items": service.comments_for(instance_id)}

    @require("clerk", "supervisor")
    @blp.arguments(NewCommentSchema)
    @blp.response(201, CommentSchema)
    def post(self, body, instance_id):
        """A comment on the case, or on one of its tasks (`task_id`), or a reply (`reply_to`)."""
        return service.comment(current_user(), instance_id, body["text"], task_id=body.get("task_id"),
                               reply_to=body.get("reply_to"))
