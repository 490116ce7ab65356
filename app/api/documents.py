"""/api/v1/instances/{id}/documents and /api/v1/documents/{id}(.pdf): a case's notices (文书).

Access follows the case (people.access.visible_case: 404 for another department's case); who does not handle
the case sees the applicant's identifiers masked, in the PDF as well.
"""

from __future__ import annotations

from flask import Response, url_for
from flask.views import MethodView
from marshmallow import fields

from ..errors import NotFound
from ..hall.documents import render, service, templates
from ..people import access
from ..people.auth import current_user, require
from ..schemas import ApiSchema, LocalDateTime
from .blueprint import Blueprint

blp = Blueprint("documents", __name__, url_prefix="/api/v1", description="文书：受理通知书、补正通知书、决定书、送达回证")


class DocumentSchema(ApiSchema):
    id = fields.Integer()
    instance_id = fields.String()
    kind = fields.String(metadata={"description": "receipt | acceptance | supplement | not_accepted | "
                                                  "special_procedure | refusal | completion | delivery | "
                                                  "higher_decision | termination | extension | withdrawal"})
    title = fields.String(metadata={"description": "as printed: a refusal's by the matter's type (不予行政许可决定书, "
                                                   "不予认定工伤决定书, 不予办理告知书…)"})
    number = fields.String(metadata={"description": "文号, e.g. 发改局受〔2026〕12号: per department, series and year"})
    issued_on = fields.String(metadata={"description": "the notice's date (Asia/Shanghai), YYYY-MM-DD"})
    issued_at = LocalDateTime()
    issued_by = fields.String(allow_none=True)
    element_id = fields.String(allow_none=True, metadata={"description": "the step that issued it"})
    url = fields.String(metadata={"description": "its PDF"})


class DocumentDetailSchema(DocumentSchema):
    data = fields.Dict(metadata={"description": "everything printed on it"})


class DocumentListSchema(ApiSchema):
    items = fields.List(fields.Nested(DocumentSchema))


class PdfArgs(ApiSchema):
    query_code = fields.String(metadata={"description": "receipt only: printed on it when it checks"})


def row(document, *, data: dict | None = None, query_code: str | None = None) -> dict:
    """`query_code`: only in the start answer, so the receipt printed then carries the code."""
    code = {"query_code": query_code} if query_code and document.kind == "receipt" else {}
    out = {"id": document.id, "instance_id": document.instance_id, "kind": document.kind, "title": document.title,
           "number": document.number, "issued_on": document.data.get("issued_on"), "issued_at": document.issued_at,
           "issued_by": document.issued_by, "element_id": document.element_id,
           "url": url_for("documents.DocumentPdf", document_id=document.id, **code)}
    if data is not None:
        out["data"] = data
    return out


def visible(document_id: int):
    """The document and whether the caller handles its case; 404 for a case the caller may not see (the
    workbench's case pages download notices through this too)."""
    user = current_user()
    document = service.get_or_404(document_id)
    try:
        instance = access.visible_case(user, document.instance_id)
    except NotFound:
        raise NotFound(f"文书 {document_id} 不存在", {"document_id": document_id}) from None
    return document, access.handles(user, instance)


@blp.route("/instances/<instance_id>/documents")
class CaseDocuments(MethodView):
    @require()
    @blp.response(200, DocumentListSchema)
    def get(self, instance_id):
        """The case's notices, oldest first, each with its number, date and PDF url (404 for another department's case)."""
        access.visible_case(current_user(), instance_id)
        return {"items": [row(d) for d in service.for_instance(instance_id)]}


@blp.route("/documents/<int:document_id>")
class DocumentDetail(MethodView):
    @require()
    @blp.response(200, DocumentDetailSchema)
    def get(self, document_id):
        """One notice with the data it was made from (identifiers masked unless the caller handles the case)."""
        document, handles = visible(document_id)
        return row(document, data=document.data if handles else access.mask(document.data))


@blp.route("/documents/<int:document_id>.pdf")
class DocumentPdf(MethodView):
    @require()
    @blp.arguments(PdfArgs, location="query")
    @blp.response(200, content_type="application/pdf")
    def get(self, args, document_id):
        """The notice as PDF (A4, Chinese). A receipt prints the query code only when `query_code` checks."""
        document, handles = visible(document_id)
        return pdf_response(document, handles, args.get("query_code"))


def pdf_response(document, handles: bool, query_code: str | None = None) -> Response:
    """The notice as a PDF answer: identifiers masked unless the caller handles the case; a receipt prints the
    query code only when it checks."""
    from ..hall import intake

    data = document.data if handles else access.mask(document.data)
    code = None
    if document.kind == "receipt" and query_code:
        instance = intake.check_query_code(data.get("case_number") or "", query_code)
        code = query_code.strip().upper() if instance is not None else None
    pdf = render.render(templates.sheet(document.kind, data, document.number, code),
                        title=f"{document.title} {document.number}")
    filename = f"{document.data.get('case_number') or document.instance_id}-{document.kind}-{document.id}.pdf"
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "private, no-store"})
