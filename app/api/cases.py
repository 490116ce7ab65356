"""/api/v1/instances/{id}/applicant and /withdraw: corrections at the window (app/cases/corrections.py)."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from ..hall.window import corrections
from ..people.auth import current_user, require
from ..schemas import ApiSchema, IsoDate
from .blueprint import Blueprint
from .documents import DocumentSchema
from .documents import row as document_row
from .instances import ApplicantSchema, InstanceDetailSchema, _detail

blp = Blueprint("cases", __name__, url_prefix="/api/v1", description="窗口更正：更正申请人、撤件")


class CorrectApplicantSchema(ApiSchema):
    applicant = fields.Raw(required=True, metadata={
        "description": "the corrected applicant, as at start: {kind, name, id_type, id_number, phone, ...}"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000),
                           metadata={"description": "why (kept in the audit trail)"})


class CaseWithdrawSchema(ApiSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000),
                           metadata={"description": "撤件理由: the applicant's request, or what was received in error"})
    requested_by = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100),
                                 metadata={"description": "who asked (the applicant or the agent); default: the "
                                                          "applicant"})
    requested_on = IsoDate(load_default=None, allow_none=True, metadata={"description": "when, YYYY-MM-DD"})
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class CaseWithdrawnSchema(InstanceDetailSchema):
    withdrawal = fields.Nested(DocumentSchema, metadata={"description": "the 撤件登记 issued"})


@blp.route("/instances/<instance_id>/applicant")
class CaseApplicant(MethodView):
    @require("clerk", "supervisor")
    @blp.arguments(CorrectApplicantSchema)
    @blp.response(200, ApplicantSchema)
    def put(self, body, instance_id):
        """更正申请人 before acceptance (those who handle the case): validated as at start (422), with a reason;
        409 once a 受理/不予受理 notice is issued or the case has ended."""
        return corrections.correct_applicant(current_user(), instance_id, body["applicant"], body["reason"])


@blp.route("/instances/<instance_id>/withdraw")
class WithdrawCase(MethodView):
    @require("clerk", "supervisor")
    @blp.arguments(CaseWithdrawSchema)
    @blp.response(200, CaseWithdrawnSchema)
    def post(self, body, instance_id):
        """撤件: a case received in error or withdrawn at the applicant's request ends, with a 撤件登记 (the clerk
        who received it, or a supervisor of its department); 409 once it has ended."""
        instance, document = corrections.withdraw(current_user(), instance_id, body["reason"],
                                                  body.get("requested_by"), body.get("requested_on"),
                                                  body.get("note"))
        return {**_detail(instance), "withdrawal": document_row(document)}
