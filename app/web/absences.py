"""AB岗 in the workbench: supervisors list, record and end absences of their departments' clerks — the API's own
service (people.absences) and checks (people.access.people_scope, check_manage_person); tasks of an absent
clerk's post go to its backup post (B岗) and come back when the absence ends."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from marshmallow import ValidationError

from ..api.people import AbsenceBodySchema, AbsenceItem, Absences
from ..errors import ApiError
from ..extensions import db
from ..people import absences, access
from ..people.models import Absence, User
from .blueprint import bp
from .pages import page
from .supervise import refusal

PAGE = 100


def _people(user) -> list[tuple[str, str]]:
    """Whose absences this supervisor may record: their departments' active clerks (everyone's for 中心督查)."""
    query = db.select(User.username, User.name).where(User.active.is_(True)).order_by(User.username)
    scope = access.people_scope(user, User.id)
    if scope is not None:
        query = query.where(scope)
    return [(u, n) for u, n in db.session.execute(query).all() if u != "admin"]


def _render(errors: dict | None = None, typed: dict | None = None, status: int = 200):
    user = g.user
    show = request.args.get("show") or "current"
    today = absences.local_day()
    items, total = absences.list_absences(None, today if show == "current" else None, PAGE, 0,
                                          scope=access.people_scope(user, Absence.user_id))
    return render_template("absences.html", active="absences", items=items, total=total, show=show,
                           people=_people(user), errors=errors or {}, typed=typed or {}, today=today), status


@bp.get("/work/absences")
@page(like=Absences.get)
def absence_list():
    return _render()


@bp.post("/work/absences")
@page(like=Absences.post)
def absence_record():
    user = g.user
    typed = request.form.to_dict()
    try:
        body = AbsenceBodySchema().load({k: typed.get(k, "") for k in ("username", "start", "end", "reason")})
        absence, moved = absences.create_absence(body["username"], body["start"], body["end"], body["reason"].strip(),
                                                 user.username,
                                                 check=lambda target: access.check_manage_person(user, target))
    except (ApiError, ValidationError) as exc:
        db.session.rollback()
        message, status = refusal(exc)
        return _render({"record": message}, typed, status)
    flash(f"已登记 {absence['name']} {absence['start']} 至 {absence['end']} 请假；"
          f"转交 B 岗 {moved.get('diverted', 0)} 项、释放 {moved.get('released', 0)} 项待办")
    return redirect(url_for("web.absence_list"))


@bp.post("/work/absences/<int:absence_id>/end")
@page(like=AbsenceItem.delete)
def absence_end(absence_id: int):
    user = g.user
    try:
        absence = absences.get_absence_or_404(absence_id)
        access.check_manage_person(user, absence.user)
        ended, moved = absences.end_absence(absence, user.username)
    except ApiError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        return _render({absence_id: exc.message}, None, exc.status)
    flash(f"{ended['name']} 的请假已结束，{moved.get('returned', 0) + moved.get('given_back', 0)} 项待办已回到本人岗位")
    return redirect(url_for("web.absence_list"))
