"""API errors: types the services raise, one handler that turns them into `{code, message, details}`."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g, has_request_context, jsonify
from sqlalchemy import event
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details if details is not None else {}
        if code:
            self.code = code


class BadRequest(ApiError):
    status, code = 400, "bad_request"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class Invalid(ApiError):
    status, code = 422, "invalid"


BUSY_MESSAGE = "办件正忙，请稍后重试 (the case is busy, retry)"


class Busy(Conflict):
    """Another writer holds the case (a long timer step, a lock wait that timed out, a deadlock victim): retry.

    A Conflict, so the scheduler skips the case for this pass as it does for a lost version check.
    """

    code = "busy"

    def __init__(self, message: str = BUSY_MESSAGE, details: Any = None) -> None:
        super().__init__(message, details)
# PostgreSQL: serialization_failure, deadlock_detected, lock_not_available (NOWAIT, lock_timeout)
_LOCK_SQLSTATES = {"40001", "40P01", "55P03"}


def is_lock_conflict(exc: BaseException) -> bool:
    """A database error that says "someone else holds this right now", not "this request is wrong"."""
    if not isinstance(exc, OperationalError):
        return False
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in _LOCK_SQLSTATES:
        return True
    text = str(orig).lower()  # SQLite: its busy timeout ran out behind another writer
    return "database is locked" in text or "database is busy" in text


class Unavailable(ApiError):
    status, code = 503, "unavailable"


# A unique index that guards a rule (one open case per business key...) names the conflict it stands for: a
# writer that loses the race at the index gets that 409 instead of a 500. Plugins declare them
# (`constraint_conflicts`); create_app keeps them per app here: index name -> (code, message, columns) — SQLite
# names the columns, not the index: `UNIQUE constraint failed: table.a, table.b`.
CONFLICTS = "tongban.conflicts"


def error_body(code: str, message: str, details: Any = None) -> dict:
    return {"code": code, "message": message, "details": details if details is not None else {}}


_HTTP_MESSAGES = {
    400: "请求格式错误 (bad request)",
    401: "未登录或令牌无效 (authentication required)",
    403: "无权执行此操作 (forbidden)",
    404: "资源不存在 (not found)",
    405: "不支持的请求方法 (method not allowed)",
    413: "上传文件过大 (payload too large)",
    415: "不支持的内容类型 (unsupported media type)",
    422: "请求数据无效 (invalid request data)",
}


def http_error_response(exc: HTTPException):
    code = (exc.name or "error").lower().replace(" ", "_").replace("'", "")
    details = {}
    data = getattr(exc, "data", None) or {}
    if isinstance(data, dict) and data.get("messages"):
        details = data["messages"]
        code = "invalid"
    message = _HTTP_MESSAGES.get(exc.code or 500, exc.description or code)
    response = jsonify(error_body(code, message, details))
    response.status_code = exc.code or 500
    return response


def committed_in_request() -> bool:
    """Whether the current request has committed a transaction (an error after that cannot say "nothing stored")."""
    return has_request_context() and bool(g.get("tongban_committed"))


@event.listens_for(Session, "after_commit")
def _note_commit(session) -> None:
    if has_request_context() and not session.in_nested_transaction():
        g.tongban_committed = True


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        response = jsonify(error_body(exc.code, exc.message, exc.details))
        response.status_code = exc.status
        if isinstance(exc, Busy):
            response.headers["Retry-After"] = "1"
        return response

    @app.errorhandler(StaleDataError)
    def _stale(exc):
        from .extensions import db

        db.session.rollback()
        response = jsonify(error_body("conflict", "数据已被他人修改，请刷新后重试 (concurrent update)", {}))
        response.status_code = 409
        return response

    @app.errorhandler(OperationalError)
    def _operational(exc: OperationalError):
        # A lock conflict is a race the caller can retry; any other operational error is ours (500, logged).
        if not is_lock_conflict(exc):
            return _internal(exc)
        from .extensions import db

        db.session.rollback()
        log.info("lock conflict answered 409: %s", exc.orig)
        response = jsonify(error_body(Busy.code, BUSY_MESSAGE, {}))
        response.status_code = 409
        response.headers["Retry-After"] = "1"
        return response


    @app.errorhandler(IntegrityError)
    def _integrity(exc: IntegrityError):
        from .extensions import db

        db.session.rollback()
        text = str(exc.orig)
        for constraint, (code, message, columns) in app.extensions.get(CONFLICTS, {}).items():
            if constraint in text or (columns and all(column in text for column in columns)):
                response = jsonify(error_body(code, message, {}))
                response.status_code = 409
                return response
        return _unexpected(exc)

    def refused(message: str):
        def handler(exc):
            from .extensions import db

            db.session.rollback()
            if committed_in_request():  # too late to refuse: the write stands, and the answer must say so
                log.error("the response of a request that wrote could not be made", exc_info=exc)
                response = jsonify(error_body("stored_but_unanswerable", "请求已处理并保存，但应答无法生成，请刷新查看结果"
                                              " (the change was stored; its answer could not be made)", {}))
                response.status_code = 500
                return response
            response = jsonify(error_body("invalid", message, {}))
            response.status_code = 422
            return response

        return handler

    # What the database cannot hold (a number past 64 bits, text with lone surrogates, JSON nested thousands
    # deep) is the caller's mistake: refused, nothing stored.
    for kind in (DataError, OverflowError):
        app.register_error_handler(kind, refused("数值超出允许范围 (a value is out of range)"))
    for kind in (UnicodeEncodeError, RecursionError):
        app.register_error_handler(kind, refused("请求包含无法保存的内容（无效字符或嵌套过深）"))

    def _internal(exc: Exception):
        from .extensions import db

        log.error("unhandled error", exc_info=exc)
        try:
            db.session.rollback()
        except Exception:  # the connection itself may be gone; the session is removed at teardown anyway
            log.debug("rollback after an unhandled error failed", exc_info=True)
        response = jsonify(error_body("internal_error", "服务器内部错误 (internal error)", {}))
        response.status_code = 500
        return response


    @app.errorhandler(Exception)
    def _unexpected(exc):
        if isinstance(exc, HTTPException):
            return http_error_response(exc)
        return _internal(exc)
