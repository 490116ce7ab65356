"""The test harness itself: a fresh app per test, each client request in its own app context (so its own session),
and a request's writes seen by the next request only once committed — as behind a real server."""

from __future__ import annotations

import pytest
from flask import Blueprint, jsonify

from app.caches import EXTENSION
from app.extensions import db
from app.people.models import Post
from tests.conftest import close_app, deploy


def _posts_blueprint() -> Blueprint:
    """Test-only views: one writes and forgets to commit (a bug), one commits, one reads."""
    blueprint = Blueprint("harness_probe", __name__)

    @blueprint.post("/_probe/forgetful/<name>")
    def forgetful(name: str):
        db.session.add(Post(name=name, kind="window_a"))
        db.session.flush()  # the row is written in this request's transaction, and never committed
        return jsonify({"name": name}), 201

    @blueprint.post("/_probe/committing/<name>")
    def committing(name: str):
        db.session.add(Post(name=name, kind="window_a"))
        db.session.commit()
        return jsonify({"name": name}), 201

    @blueprint.get("/_probe/posts/<name>")
    def read(name: str):
        post = db.session.get(Post, name)
        return (jsonify({"name": post.name}), 200) if post is not None else (jsonify({}), 404)

    return blueprint


def test_a_view_that_forgets_to_commit_fails(ctx):
    ctx.register_blueprint(_posts_blueprint())
    client = ctx.test_client()
    assert client.post("/_probe/forgetful/甲岗").status_code == 201
    assert client.get("/_probe/posts/甲岗").status_code == 404  # gone with its request: the bug shows
    assert client.post("/_probe/committing/乙岗").status_code == 201
    assert client.get("/_probe/posts/乙岗").status_code == 200
    with ctx.app_context():
        assert db.session.get(Post, "甲岗") is None and db.session.get(Post, "乙岗") is not None


def test_a_request_inside_the_tests_app_context_is_refused(ctx):
    client = ctx.test_client()
    with ctx.app_context(), pytest.raises(AssertionError, match="must not run inside"):
        client.get("/healthz")
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("run", [1, 2])
def test_every_test_gets_a_fresh_app_with_no_caches(app, run):
    assert EXTENSION not in app.extensions
    assert "harness_marker" not in app.extensions  # the other run's app was another app
    app.extensions["harness_marker"] = run
    app.extensions[EXTENSION] = {"left": "behind"}  # whatever a test leaves in its app's caches stays there


def test_a_fresh_app_starts_clean_and_works_on_what_another_wrote(client, people, make_app):
    deploy(client, people, "two_step.bpmn")
    case = client.post("/api/v1/process-definitions/two_step/instances", json={"data": {}},
                       headers=people.auth("clerk")).json
    assert client.application.extensions[EXTENSION]  # compiled spec, live workflow, principals...
    other = make_app()  # another worker, or this one restarted
    try:
        assert EXTENSION not in other.extensions
        fresh = other.test_client()
        task = fresh.get(f"/api/v1/instances/{case['id']}", headers=people.auth("clerk")).json["tasks"][0]
        done = fresh.post(f"/api/v1/tasks/{task['id']}/complete", headers=people.auth("clerk"),
                          json={"data": {"applicant": "甲", "materials_complete": True}})
        assert done.status_code == 200, done.json
        assert other.extensions[EXTENSION]
    finally:
        close_app(other)
    # the first app's cached workflow is stale now: its version check sends it to the database, not to a 409
    after = client.get(f"/api/v1/instances/{case['id']}", headers=people.auth("clerk")).json
    assert [t["element_id"] for t in after["tasks"]] == ["approve"]
