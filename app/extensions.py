"""Extension objects, created unbound and attached in create_app."""

from __future__ import annotations

from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData

from .errors import http_error_response

# Stable constraint names so Alembic migrations match on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class TongbanApi(Api):
    """flask-smorest, with errors in the service's `{code, message, details}` shape."""

    def handle_http_exception(self, error):
        return http_error_response(error)


db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate()
