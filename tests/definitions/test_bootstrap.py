"""Bootstrap seeds, it never overrides: a restart deploys only shipped files that are new or changed since the last
bootstrap; versions deployed and users changed through the API stay as they are."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
import yaml

from app.extensions import db

ROOT = Path(__file__).resolve().parents[2]
CODE = "32021300FG-BA-0001"
KEY = "matter_32021300FG_BA_0001"


@pytest.fixture()
def shipped(ctx, tmp_path):
    """A processes/ folder with the real hall and one matter (diagram and record); forms/ as shipped."""
    folder = tmp_path / "processes"
    (folder / "fgj").mkdir(parents=True)
    shutil.copy(ROOT / "processes" / "hall.yaml", folder / "hall.yaml")
    for suffix in (".bpmn", ".yaml"):
        shutil.copy(ROOT / "processes" / "fgj" / f"{CODE}{suffix}", folder / "fgj" / f"{CODE}{suffix}")
    saved = {key: ctx.config[key] for key in ("PROCESSES_DIR", "FORMS_DIR")}
    ctx.config.update(PROCESSES_DIR=str(folder), FORMS_DIR=str(ROOT / "forms"))
    yield folder
    ctx.config.update(saved)


def _restart(app) -> dict:
    from app.cli import bootstrap

    with app.app_context():  # as `flask bootstrap` runs: an app context of its own
        summary = bootstrap(app, admin_token="tb_test_admin_token")
        db.session.remove()
    return summary


def _versions(client, admin) -> list[tuple[int, str]]:
    detail = client.get(f"/api/v1/process-definitions/{KEY}", headers=admin).json
    return [(v["version"], v["deployed_by"]) for v in detail["versions"]]


def test_restarting_twice_keeps_api_deploys_and_user_changes(ctx, shipped):
    client = ctx.test_client()
    admin = {"Authorization": "Bearer tb_test_admin_token"}
    first = _restart(ctx)
    assert first["definitions"] == 1 and first["matters"] == 1 and first["hall"]["users"] > 0
    assert _versions(client, admin) == [(1, "system")]

    # v2 through the API, and a clerk's posts and roles changed through the API
    changed = (shipped / "fgj" / f"{CODE}.bpmn").read_bytes().replace('name="受理"'.encode(), 'name="收件受理"'.encode(), 1)
    deployed = client.post("/api/v1/process-definitions", data={"file": [(io.BytesIO(changed), f"{CODE}.bpmn")]},
                           headers=admin, content_type="multipart/form-data")
    assert deployed.status_code == 201, deployed.json
    users = {u["username"]: u for u in client.get("/api/v1/users", headers=admin).json}
    clerk = users["chenxiaodong"]
    body = {"username": clerk["username"], "name": "陈晓东（调岗）", "roles": ["clerk", "supervisor"], "posts": [],
            "window": clerk["window"]}
    assert client.post("/api/v1/users", json=body, headers=admin).status_code == 201
    forms_before = client.get("/api/v1/forms", headers=admin).json

    for _ in range(2):
        summary = _restart(ctx)
        assert summary["definitions"] == 0 and summary["matters"] == 0 and summary["forms"] == 0
        assert summary["hall"] == "unchanged"
    assert _versions(client, admin) == [(2, "admin"), (1, "system")]
    assert client.get(f"/api/v1/process-definitions/{KEY}", headers=admin).json["version"] == 2
    again = {u["username"]: u for u in client.get("/api/v1/users", headers=admin).json}["chenxiaodong"]
    assert (again["name"], sorted(again["roles"]), again["posts"]) == ("陈晓东（调岗）", ["clerk", "supervisor"], [])
    assert client.get("/api/v1/forms", headers=admin).json == forms_before

    # a shipped file that changed IS deployed (as the next version), and the hall gains what is new in it
    content = (shipped / "fgj" / f"{CODE}.bpmn").read_bytes().replace('name="审核"'.encode(), 'name="初审"'.encode(), 1)
    (shipped / "fgj" / f"{CODE}.bpmn").write_bytes(content)
    hall = yaml.safe_load((shipped / "hall.yaml").read_text(encoding="utf-8"))
    hall["posts"].append({"name": "新设咨询岗", "department": hall["posts"][0].get("department"), "kind": "window_a"})
    hall["users"].append({"username": "newclerk", "name": "新同事", "roles": ["clerk"], "posts": ["新设咨询岗"]})
    (shipped / "hall.yaml").write_text(yaml.safe_dump(hall, allow_unicode=True), encoding="utf-8")
    summary = _restart(ctx)
    assert summary["definitions"] == 1 and summary["hall"] == {"departments": 0, "windows": 0, "posts": 1, "users": 1}
    assert _versions(client, admin) == [(3, "system"), (2, "admin"), (1, "system")]
    everyone = {u["username"]: u for u in client.get("/api/v1/users", headers=admin).json}
    assert everyone["newclerk"]["posts"] == ["新设咨询岗"]
    assert everyone["chenxiaodong"]["name"] == "陈晓东（调岗）"


def test_a_database_seeded_before_seeds_were_remembered_is_not_redeployed(ctx, shipped):
    """Upgrading: no seed rows yet, but the shipped content is already a version (maybe not the latest)."""
    from app.definitions.models import SeedFile

    client = ctx.test_client()
    admin = {"Authorization": "Bearer tb_test_admin_token"}
    _restart(ctx)
    changed = (shipped / "fgj" / f"{CODE}.bpmn").read_bytes().replace('name="受理"'.encode(), 'name="收件受理"'.encode(), 1)
    client.post("/api/v1/process-definitions", data={"file": [(io.BytesIO(changed), f"{CODE}.bpmn")]},
                headers=admin, content_type="multipart/form-data")
    with ctx.app_context():
        db.session.execute(db.delete(SeedFile))
        db.session.commit()
    summary = _restart(ctx)
    assert summary["definitions"] == 0
    assert _versions(client, admin) == [(2, "admin"), (1, "system")]


def test_a_broken_shipped_file_stops_bootstrap_with_one_line_per_problem(ctx, shipped):
    (shipped / "fgj" / "broken.bpmn").write_bytes(b"<bpmn:definitions xmlns:bpmn='x'>\n<oops>\n")
    result = ctx.test_cli_runner().invoke(args=["bootstrap", "--admin-token", "tb_test_admin_token"])
    assert result.exit_code == 1
    assert any(line.startswith("fgj/broken.bpmn:") for line in result.output.splitlines()), result.output
    from app.definitions.models import ProcessDefinition

    with ctx.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(ProcessDefinition)) == 0
