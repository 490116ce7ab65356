"""Sign-in, sign-out, each person's start page, error pages, the front-end packages, template helpers."""

from __future__ import annotations

import datetime as dt
from functools import wraps
from pathlib import Path

from flask import (
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError

from ..clock import SHANGHAI, as_utc
from ..config import ROOT
from ..errors import ApiError, Unauthorized
from ..extensions import db
from ..people.auth import require
from .blueprint import bp

# -- who may open a page: the API's own role rules ----------------------------------------------------------------


def roles_of(api_method) -> tuple[str, ...]:
    """The roles an API operation requires (what `people.auth.require` recorded on it): a page doing the same
    thing asks for the same roles, without a second copy of the rule."""
    return tuple(api_method._apidoc["tongban_roles"])


def page(*roles: str, like=None):
    """A page for signed-in people (else to the sign-in form); with roles (or `like=` an API operation), only for
    them — checked by people.auth.require, exactly as the API checks a bearer token."""
    wanted = roles_of(like) if like is not None else roles

    def decorator(view):
        checked = require(*wanted)(view)

        @wraps(view)
        def wrapper(*args, **kwargs):
            if g.get("user") is None:
                raise Unauthorized("请先登录")
            return checked(*args, **kwargs)

        return wrapper

    return decorator


def may(*roles: str, like=None) -> bool:
    user = g.get("user")
    wanted = roles_of(like) if like is not None else roles
    return user is not None and (not wanted or user.has_role(*wanted))


def start_page(user) -> str:
    if user.is_("clerk"):
        return url_for("web.work")
    if user.is_("supervisor", "center_supervisor", "admin"):
        return url_for("web.board")
    return url_for("web.processes")


def wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json" or request.is_json


# -- sign-in -------------------------------------------------------------------------------------------------------
@bp.route("/", methods=["GET", "POST"])
def home():
    from . import passwords

    if g.user is not None and request.method == "GET":
        return redirect(start_page(g.user))
    from . import sessions, throttle

    error, status = None, 200
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()
        refused = throttle.locked(username)  # before the password is checked: a locked account says nothing more
        user = None if refused else passwords.check(username, request.form.get("password") or "")
        if refused:
            error, status = refused, 429
        elif user is None:
            error, status = "用户名或密码不正确", 401
            if throttle.failed(username):
                error, status = throttle.locked(username) or error, 429
        else:
            throttle.succeeded(username)
            session.clear()
            session.permanent = True
            session["uid"] = user.id
            session["stamp"] = passwords.stamp(user.id)
            sessions.open_session(user.id)
            db.session.commit()
            from .blueprint import local_target, principal_of
            if passwords.must_change(user.id):
                flash("首次登录，请先修改演示密码（演示密码为公开的初始密码，不能继续使用）", "error")
                return redirect(url_for("web.password"))
            return redirect(local_target(request.args.get("next")) or start_page(principal_of(user)))
    return render_template("signin.html", error=error, username=request.form.get("username", "")), status


@bp.post("/signout")
def signout():

    from . import sessions

    if g.user is not None:  # this session ends: its cookie stops working wherever it was copied to
        sessions.end(g.user.id, sessions.current_id() or "", g.user.username)
        db.session.commit()
    session.clear()
    flash("您已退出登录")
    return redirect(url_for("web.home"))


@bp.route("/account/password", methods=["GET", "POST"])
@page()
def password():
    from ..people.models import User
    from . import passwords

    errors = {}
    if request.method == "POST":
        user = db.session.get(User, g.user.id)
        new = request.form.get("new_password") or ""
        if passwords.check(user.username, request.form.get("old_password") or "") is None:
            errors["old_password"] = "原密码不正确"
        elif (problem := passwords.weakness(new, request.form.get("old_password") or "")) is not None:
            errors["new_password"] = problem
        elif new != request.form.get("again"):
            errors["again"] = "两次输入的新密码不一致"
        else:
            passwords.set_password(user, new)
            db.session.commit()
            session["stamp"] = passwords.stamp(user.id)  # the other sessions end (a changed password)
            flash("密码已修改")
            return redirect(start_page(g.user))
    return render_template("password.html", errors=errors), 422 if errors else 200


@bp.route("/account/sessions", methods=["GET", "POST"])
@page()
def account_sessions():
    """The person's open sessions (when, where, which browser): end one, or all but this one."""
    from . import sessions

    user = g.user
    if request.method == "POST":
        which = request.form.get("session") or ""
        if which == "others":
            count = sessions.end_all(user.id, user.username, keep=sessions.current_id())
            db.session.commit()
            flash(f"已结束其他 {count} 个会话")
        elif sessions.end(user.id, which, user.username):
            db.session.commit()
            if which == sessions.current_id():
                session.clear()
                flash("本会话已结束，请重新登录")
                return redirect(url_for("web.home"))
            flash("该会话已结束，使用它的浏览器须重新登录")
        else:
            flash("该会话不存在或已结束", "error")
        return redirect(url_for("web.account_sessions"))
    return render_template("sessions.html", rows=sessions.of_user(user.id), current=sessions.current_id())


# -- errors on pages -----------------------------------------------------------------------------------------------
@bp.errorhandler(ApiError)
def api_error(exc: ApiError):
    if isinstance(exc, Unauthorized) and not wants_json():
        return redirect(url_for("web.home", next=request.full_path.rstrip("?")))
    if wants_json():
        return jsonify({"code": exc.code, "message": exc.message, "details": exc.details}), exc.status
    return render_template("error.html", status=exc.status, message=exc.message), exc.status


@bp.errorhandler(CSRFError)
def csrf_error(exc: CSRFError):
    message = f"页面已过期或来源不明（CSRF 校验失败），请刷新页面后重试（{exc.description}）"
    if wants_json():
        return jsonify({"code": "csrf", "message": message, "details": {"reason": exc.description}}), 400
    return render_template("error.html", status=400, message=message), 400


@bp.app_errorhandler(413)
def too_large(exc):
    if wants_json() or request.path.startswith("/api/"):
        from ..errors import http_error_response

        return http_error_response(exc)
    return render_template("error.html", status=413, message="提交的内容过大，请删减后重试"), 413


_NOT_PAGES = ("/api/", "/healthz", "/readyz", "/metrics", "/web-static/", "/vendor/")


def page_errors_and_headers(response):
    """After every request: a browser that asked for a page gets the Chinese error page, not the API's JSON
    error body (an unknown address, a 500, a 422 raised below the pages); and pages may not be framed."""
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.status_code < 400 or response.mimetype != "application/json" or wants_json() \
            or request.path.startswith(_NOT_PAGES) or "text/html" not in (request.headers.get("Accept") or ""):
        return response
    body = response.get_json(silent=True) or {}
    message = body.get("message") if isinstance(body, dict) else None
    if "user" not in g:
        g.user = None
    page = render_template("error.html", status=response.status_code,
                           message=message or "服务暂时出错，请稍后重试；如一再出现，请联系运维人员")
    response.set_data(page)
    response.mimetype = "text/html"
    return response


# -- front-end packages: node_modules/, as package-lock.json pins them (tools/_install runs npm ci) -------------------
VENDOR = {  # what pages load, and nothing else of node_modules
    "bpmn-js": "bpmn-js/dist",
    "properties-panel": "bpmn-js-properties-panel/dist",
    "properties-panel-css": "@bpmn-io/properties-panel/dist/assets",
    "camunda-moddle": "camunda-bpmn-moddle/resources",
    "echarts": "echarts/dist",
    "bpmn-js-i18n": "bpmn-js-i18n/translations",
    "form-js": "@bpmn-io/form-js/dist",  # the task page renders Camunda Forms with form-js's viewer
}


def node_modules() -> Path:
    return Path(current_app.config.get("WEB_NODE_MODULES") or ROOT / "node_modules")


@bp.get("/vendor/<package>/<path:filename>")
def vendor(package: str, filename: str):
    folder = VENDOR.get(package)
    if folder is None:
        abort(404)
    return send_from_directory(node_modules() / folder, filename, max_age=86400)


# -- templates -----------------------------------------------------------------------------------------------------
@bp.app_template_filter("local")
def local_time(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time as Asia/Shanghai (dates pass through)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        return as_utc(value).astimezone(SHANGHAI).strftime(fmt)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


@bp.app_template_filter("person")
def person_filter(username: str | None) -> str:
    """A username as the person's name (陈晓东)."""
    from .words import person

    return person(username)


@bp.app_template_filter("duration")
def duration_filter(text: str | None) -> str:
    """ISO 8601 durations in a text as working days (审核超期 P2D → 审核超期 2 个工作日)."""
    from .words import duration

    return duration(text or "")


LIGHTS = {"green": "绿灯", "yellow": "黄灯", "red": "红灯"}
ROLE_NAMES = {"clerk": "窗口/岗位人员", "supervisor": "督查", "center_supervisor": "中心督查", "analyst": "流程分析员",
              "ops": "运维", "admin": "管理员", "worker": "外部系统（工作者）"}


@bp.app_context_processor
def _helpers() -> dict:
    from ..matters.models import KIND_NAMES
    from .views_nav import nav_items

    return {"may": may, "LIGHTS": LIGHTS, "ROLE_NAMES": ROLE_NAMES, "nav_items": nav_items, "KIND_NAMES": KIND_NAMES}
