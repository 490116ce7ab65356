"""The web workbench (通办工作台): sign-in, clerks' work, the supervisors' board, processes, the modeler and the
public guide — Jinja pages on the same services and the same authorization (people.access) as the API."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

import click
from flask import Flask


def _secret_key(app: Flask) -> str:
    """TONGBAN_SECRET_KEY, else one kept in instance/secret_key (shared by every worker of this server)."""
    given = app.config.get("TONGBAN_SECRET_KEY")
    if given:
        return given
    if app.config.get("TESTING"):
        return secrets.token_hex(32)
    path = Path(app.instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()


def register(app: Flask) -> None:
    from . import absences, board, casefiles, corrections, finder, guide, intake, pages, processes, supervise, work  # noqa: F401  (their routes)
    from . import models as _models  # noqa: F401  (the web_password and web_session tables)
    from . import moves as _moves  # noqa: F401  (退回 and 撤回)
    from . import throttle as _throttle  # noqa: F401  (the rate_counter table)
    from .blueprint import bp, csrf

    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(app)
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # only the workbench's pages: the API has no cookies
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # as long as the session
    # Flask's own defaults hold these keys already (None, 31 days): set them unless the deployment did
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_SAMESITE", "Lax")
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SECURE"] = bool(app.config.get("SECURE_COOKIES"))
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(hours=float(app.config.get("SESSION_HOURS", 12)))
    # the cookie is sent only when the session changes: a lookup answered while a form is posted (the applicant
    # search as the clerk types) would otherwise send the old session back after the post's, and the message
    # the post left for the next page (the case number and query code, shown once) would be lost
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    csrf.init_app(app)
    app.register_blueprint(bp)
    app.after_request(pages.page_errors_and_headers)

    @app.cli.group("web")
    def web_group() -> None:
        """The web workbench: passwords."""

    @web_group.command("password")
    @click.argument("username")
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
                  help="the new password (asked for when not given)")
    def set_password_command(username: str, password: str) -> None:
        """Set USERNAME's workbench password (at least 8 characters)."""
        from ..extensions import db
        from ..people.service import get_user_or_404
        from .passwords import MIN_LENGTH, set_password

        if len(password) < MIN_LENGTH:
            raise click.UsageError(f"密码至少 {MIN_LENGTH} 位")
        set_password(get_user_or_404(username), password)
        db.session.commit()
        click.echo(f"{username}: 密码已设置")
