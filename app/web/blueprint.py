"""The workbench's blueprint: pages for clerks, supervisors, analysts and the public, in the same app as the API.

Who is signed in comes from the Flask session (a signed cookie) and is handed to the API's own checks: the
person becomes the request's principal (`people.auth.current_user`), so `require(...)` and people.access decide
for pages exactly as for the API. Every POST from a page carries a CSRF token (Flask-WTF); the API is not
affected (bearer tokens, no cookies).
"""

from __future__ import annotations

from flask import Blueprint, g, request, session
from flask_wtf.csrf import CSRFProtect

from ..extensions import db
from ..people.auth import Principal
from ..people.models import User

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/web-static")
csrf = CSRFProtect()


def local_target(target: str | None) -> str | None:
    """A redirect target from a request, if it stays on this site: a path (`/work?x=1`), never `//host`,
    `/\\host`, a scheme, or anything with control characters or spaces (browsers drop tabs and newlines, so
    `/\t/evil.example` would become `//evil.example`)."""
    if not target or not target.startswith("/") or any(ord(ch) < 33 or ord(ch) == 127 for ch in target):
        return None
    if target.startswith(("//", "/\\")) or "\\" in target:
        return None
    return target


def principal_of(user: User) -> Principal:
    """The same principal a bearer token of this person stands for (people.auth._load_principal)."""
    return Principal(user.id, user.username, user.name, tuple(user.roles), tuple(user.post_names), user.window_no,
                     active=user.active, departments=tuple(user.department_codes))


@bp.before_request
def _who_and_csrf() -> None:
    from . import passwords

    # Flask-WTF caches the signed token in `g`; g lives in the app context, which a test's requests may share
    g.pop("csrf_token", None)
    from .casefiles import upload_limit

    upload_limit()  # an attachment may be larger than other requests: before CSRF reads the form
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()
    g.user = None
    uid = session.get("uid")
    if uid is None:
        return
    from . import sessions

    user = db.session.get(User, uid)
    if user is None or not user.active or passwords.stamp(user.id) != session.get("stamp") \
            or sessions.current(user.id) is None:
        session.clear()
        return
    g.user = principal_of(user)
    request.environ["tongban.user"] = g.user  # what people.auth.current_user() returns for this request
    if passwords.must_change(user.id) and request.endpoint not in CHANGE_FIRST_ALLOWED:
        # the demo hall's shared password: nothing else until the person has a password of their own
        from flask import flash, redirect, url_for

        if request.method == "GET" and not request.accept_mimetypes.best == "application/json":
            flash("您仍在使用演示密码，请先修改密码再办理业务", "error")
        return redirect(url_for("web.password"))


CHANGE_FIRST_ALLOWED = {"web.password", "web.signout", "web.static", "web.vendor", "web.home"}
