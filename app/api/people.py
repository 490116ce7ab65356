"""/api/v1/users, /me, /posts and /absences: who is who, API tokens, posts with their holders, absences."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import ValidationError, fields, validate
from sqlalchemy.orm import selectinload

from ..errors import Conflict
from ..extensions import db
from ..people import absences, access, service, tokens
from ..people.auth import current_user, require
from ..people.models import ROLES
from ..schemas import ApiSchema, IsoDate, LocalDateTime, PageArgs, QuerySchema
from .blueprint import Blueprint

blp = Blueprint("people", __name__, url_prefix="/api/v1", description="用户、角色、访问令牌、岗位与请假（AB岗）")


def unique_items(items: list) -> None:
    """A list that names something twice is a mistake of the caller (a post held twice is one post)."""
    twice = sorted({item for item in items if items.count(item) > 1})
    if twice:
        raise ValidationError(f"重复：{'、'.join(map(str, twice))}")


class UserSchema(ApiSchema):
    username = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]{2,64}$"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), load_default=list, validate=unique_items)
    posts = fields.List(fields.String(), load_default=list, attribute="post_names", validate=unique_items)
    window = fields.Integer(load_default=None, allow_none=True, attribute="window_no", strict=True,
                            validate=validate.Range(min=1, max=1000))
    departments = fields.Function(
        lambda who: list(getattr(who, "departments", None) or getattr(who, "department_codes", None) or []),
        dump_only=True, metadata={"description": "whose cases they see: their window's department, else their posts' "
                                                 "(backup posts not counted); see the README's security section"})


class TokenRequestSchema(ApiSchema):
    label = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    expires_in = fields.Integer(load_default=None, allow_none=True, strict=True,
                                validate=validate.Range(min=60, max=3660 * 86400,
                                                        error="有效期应在 60 秒到十年之间（秒）"),
                                metadata={"description": "seconds from now until the token ends"})
    expires_at = LocalDateTime(load_default=None, allow_none=True,
                               metadata={"description": "when the token ends (default: TONGBAN_TOKEN_TTL_DAYS)"})
    never_expires = fields.Boolean(load_default=False, metadata={"description": "a token without an end (admin)"})


class TokenInfoSchema(ApiSchema):
    id = fields.Integer()
    label = fields.String(allow_none=True)
    created_at = LocalDateTime()
    expires_at = LocalDateTime(allow_none=True, metadata={"description": "null: does not expire"})
    revoked = fields.Boolean()
    revoked_at = LocalDateTime(allow_none=True)
    revoked_by = fields.String(allow_none=True)
    state = fields.String(metadata={"description": "active | expired | revoked"})
    current = fields.Boolean(metadata={"description": "the token of this request"})


class TokenSchema(TokenInfoSchema):
    token = fields.String(metadata={"description": "shown once; only its hash is stored"})
    username = fields.String()


class TokenListSchema(ApiSchema):
    items = fields.List(fields.Nested(TokenInfoSchema))


@blp.route("/me")
class Me(MethodView):
    @require()
    @blp.response(200, UserSchema)
    def get(self):
        """The user behind the token."""
        return current_user()


@blp.route("/users")
class Users(MethodView):
    @require("supervisor", "ops")
    @blp.response(200, UserSchema(many=True))
    def get(self):
        """All users with their roles and posts."""
        from ..people.models import User
        return list(db.session.scalars(db.select(User).options(selectinload(User.posts)).order_by(User.username)))

    @require("admin")
    @blp.arguments(UserSchema)
    @blp.response(201, UserSchema)
    def post(self, body):
        """Create or update a user (admin). An admin cannot take the admin role from themselves."""
        if body["username"] == current_user().username and "admin" not in body["roles"]:
            raise Conflict("不能取消自己的管理员角色（请由另一位管理员操作）", {"username": body["username"]})
        user = service.upsert_user(body["username"], body["name"], body["roles"], body["post_names"],
                                   body.get("window_no"))
        db.session.commit()
        return user


@blp.route("/users/<username>/tokens")
class Tokens(MethodView):
    @require("admin")
    @blp.arguments(TokenRequestSchema)
    @blp.response(201, TokenSchema)
    def post(self, body, username):
        """Issue a bearer token for a user (admin); it ends after TONGBAN_TOKEN_TTL_DAYS unless told otherwise."""
        user = service.get_user_or_404(username)
        ends = tokens.expiry(body.get("expires_in"), body.get("expires_at"), never=body["never_expires"])
        secret, row = tokens.issue(user, body.get("label"), ends, current_user().username)
        db.session.commit()
        return {**tokens.token_view(row), "token": secret, "username": user.username}

    @require()
    @blp.response(200, TokenListSchema)
    def get(self, username):
        """A user's tokens, newest first, without their secrets (the user themself, or admin)."""
        caller = current_user()
        tokens.check_own_or_admin(caller, username)
        return {"items": tokens.list_for(service.get_user_or_404(username), caller)}


@blp.route("/users/<username>/tokens/<int:token_id>")
class TokenItem(MethodView):
    @require()
    @blp.response(200, TokenInfoSchema)
    def delete(self, username, token_id):
        """Revoke a token (the user themself, or admin); answers it, revoked. Repeating it changes nothing."""
        caller = current_user()
        tokens.check_own_or_admin(caller, username)
        return tokens.revoke(tokens.get_for_or_404(service.get_user_or_404(username), token_id), caller)


@blp.route("/me/tokens")
class MyTokens(MethodView):
    @require()
    @blp.response(200, TokenListSchema)
    def get(self):
        """The caller's tokens, newest first, without their secrets; `current` marks this request's token."""
        caller = current_user()
        return {"items": tokens.list_for(service.get_user_or_404(caller.username), caller)}


@blp.route("/me/tokens/<int:token_id>")
class MyToken(MethodView):
    @require()
    @blp.response(200, TokenInfoSchema)
    def delete(self, token_id):
        """Revoke one of one's own tokens (this request's too: it is the last one it serves)."""
        caller = current_user()
        return tokens.revoke(tokens.get_for_or_404(service.get_user_or_404(caller.username), token_id), caller)


POST_KINDS = ("window_a", "window_b", "review", "approve", "supervise", "head", "government")


class PostArgs(QuerySchema):
    department = fields.String(metadata={"description": "department code"})
    kind = fields.String(validate=validate.OneOf(POST_KINDS))


class HolderSchema(ApiSchema):
    username = fields.String()
    name = fields.String()
    window = fields.Integer(allow_none=True)
    absent = fields.Boolean(metadata={"description": "away today"})


class PostSchema(ApiSchema):
    name = fields.String()
    kind = fields.String()
    department = fields.String(allow_none=True)
    department_name = fields.String(allow_none=True)
    backup = fields.String(allow_none=True, metadata={"description": "the backup post (B岗)"})
    backup_for = fields.List(fields.String(), metadata={"description": "posts this one backs up"})
    holders = fields.List(fields.Nested(HolderSchema))
    routed_to = fields.String(allow_none=True, metadata={"description": "the backup taking this post's tasks today"})
    open_tasks = fields.Integer()
    claimed_tasks = fields.Integer()
    unclaimed_tasks = fields.Integer()


class NewPostSchema(ApiSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    department = fields.String(load_default=None, allow_none=True, metadata={"description": "department code"})
    kind = fields.String(required=True, validate=validate.OneOf(POST_KINDS))
    backup = fields.String(load_default=None, allow_none=True, metadata={"description": "the backup post (B岗)"})


class PostListSchema(ApiSchema):
    items = fields.List(fields.Nested(PostSchema))


class AbsenceBodySchema(ApiSchema):
    username = fields.String(required=True)
    start = IsoDate(required=True)
    end = IsoDate(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500, error="请填写请假事由（500字以内）"))


class AbsenceArgs(PageArgs):
    username = fields.String()
    active_on = IsoDate(metadata={"description": "only absences in effect on this date"})


class AbsenceSchema(ApiSchema):
    id = fields.Integer()
    username = fields.String()
    name = fields.String()
    start = fields.Date()
    end = fields.Date()
    reason = fields.String()
    created_by = fields.String(allow_none=True)
    created_at = LocalDateTime()
    ended_at = LocalDateTime(allow_none=True)
    ended_by = fields.String(allow_none=True)
    in_effect = fields.Boolean(metadata={"description": "the clerk is away today"})


class MovedSchema(ApiSchema):
    released = fields.Integer()
    diverted = fields.Integer()
    returned = fields.Integer()
    given_back = fields.Integer()


class AbsenceChangeSchema(AbsenceSchema):
    tasks_moved = fields.Nested(MovedSchema, metadata={"description": "task rows rerouted by this change"})


class AbsenceListSchema(ApiSchema):
    items = fields.List(fields.Nested(AbsenceSchema))
    total = fields.Integer()


@blp.route("/posts")
class Posts(MethodView):
    @require()
    @blp.arguments(PostArgs, location="query")
    @blp.response(200, PostListSchema)
    def get(self, args):
        """Posts with their holders (and who is away today), backup post and open-task counts."""
        return {"items": service.list_posts(args.get("department"), args.get("kind"))}

    @require("admin")
    @blp.arguments(NewPostSchema)
    @blp.response(201, PostSchema)
    def post(self, body):
        """Create a post (admin): what a lane or candidate group names; deploy refuses diagrams naming no post."""
        name = service.create_post(body["name"], body.get("department"), body["kind"], body.get("backup"))
        db.session.commit()
        return next(p for p in service.list_posts() if p["name"] == name)


@blp.route("/absences")
class Absences(MethodView):
    @require("supervisor")
    @blp.arguments(AbsenceArgs, location="query")
    @blp.response(200, AbsenceListSchema)
    def get(self, args):
        """Absences, latest first; `active_on` keeps those in effect on a date."""
        from ..people.models import Absence

        items, total = absences.list_absences(args.get("username"), args.get("active_on"), args["limit"],
                                             args["offset"], scope=access.people_scope(current_user(), Absence.user_id))
        return {"items": items, "total": total}

    @require("supervisor")
    @blp.arguments(AbsenceBodySchema)
    @blp.response(201, AbsenceChangeSchema)
    def post(self, body):
        """Mark a clerk of one's department away (supervisor; 中心督查 any clerk): their tasks go to colleagues or
        the backup post. Overlap: 409."""
        user = current_user()
        absence, moved = absences.create_absence(body["username"], body["start"], body["end"], body["reason"],
                                                user.username, check=lambda target: access.check_manage_person(user, target))
        return {**absence, "tasks_moved": moved}


@blp.route("/absences/<int:absence_id>")
class AbsenceItem(MethodView):
    @require("supervisor")
    @blp.response(200, AbsenceChangeSchema)
    def delete(self, absence_id):
        """End an absence now (or cancel one not begun): the clerk's tasks come back to them."""
        user = current_user()
        absence = absences.get_absence_or_404(absence_id)
        access.check_manage_person(user, absence.user)
        absence, moved = absences.end_absence(absence, user.username)
        return {**absence, "tasks_moved": moved}
