"""/api/v1/users and /api/v1/me: who is who, and API tokens."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from ..extensions import db
from ..people.models import ROLES
from . import service
from .auth import current_user, issue_token, require

blp = Blueprint("people", __name__, url_prefix="/api/v1", description="用户、角色与访问令牌")


class UserSchema(Schema):
    username = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]{2,64}$"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), load_default=list)
    posts = fields.List(fields.String(), load_default=list, attribute="post_names")
    window = fields.Integer(load_default=None, allow_none=True, attribute="window_no")


class TokenRequestSchema(Schema):
    label = fields.String(load_default=None, allow_none=True)


class TokenSchema(Schema):
    token = fields.String(metadata={"description": "shown once; only its hash is stored"})
    username = fields.String()


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, UserSchema)
    @require()
    def get(self):
        """The user behind the token."""
        return current_user()


@blp.route("/users")
class Users(MethodView):
    @blp.response(200, UserSchema(many=True))
    @require("supervisor", "ops")
    def get(self):
        """All users with their roles and posts."""
        from .models import User
        return list(db.session.scalars(db.select(User).order_by(User.username)))

    @blp.arguments(UserSchema)
    @blp.response(201, UserSchema)
    @require("admin")
    def post(self, body):
        """Create or update a user (admin)."""
        user = service.upsert_user(body["username"], body["name"], body["roles"], body["post_names"],
                                   body.get("window_no"))
        db.session.commit()
        return user


@blp.route("/users/<username>/tokens")
class Tokens(MethodView):
    @blp.arguments(TokenRequestSchema)
    @blp.response(201, TokenSchema)
    @require("admin")
    def post(self, body, username):
        """Issue a bearer token for a user (admin)."""
        user = service.get_user_or_404(username)
        token = issue_token(user, label=body.get("label"))
        db.session.commit()
        return {"token": token, "username": user.username}
