"""`flask processes ...`: files or folders, one line per problem, exit codes for scripts; `flask deploy` alias."""

from __future__ import annotations

import shutil

from tests.conftest import FIXTURES


def _folder(tmp_path, *names: str):
    folder = tmp_path / "diagrams"
    folder.mkdir()
    for name in names:
        shutil.copy(FIXTURES / name, folder / name)
    return folder


def test_deploy_a_file_and_a_folder_then_list_and_diff(ctx, people, tmp_path):
    runner = ctx.test_cli_runner()
    single = runner.invoke(args=["processes", "deploy", str(FIXTURES / "two_step.bpmn"), "-m", "首版"])
    assert single.exit_code == 0, single.output
    assert "new two_step v1" in single.output
    folder = _folder(tmp_path, "reply.bpmn", "two_step.bpmn")
    again = runner.invoke(args=["deploy", str(folder)])  # the old command, now files or folders
    assert again.exit_code == 0, again.output
    assert "same two_step v1" in again.output and "new reply v1" in again.output
    changed = (FIXTURES / "two_step.bpmn").read_bytes().replace(b">PT1H<", b">PT3H<")
    (folder / "two_step.bpmn").write_bytes(changed)
    assert runner.invoke(args=["processes", "deploy", str(folder / "two_step.bpmn")]).exit_code == 0
    listed = runner.invoke(args=["processes", "list"])
    assert "two_step\tv2\tactive" in listed.output and "reply\tv1\tactive" in listed.output
    diff = runner.invoke(args=["processes", "diff", "two_step", "1", "2"])
    assert diff.exit_code == 0 and '"approve_overdue"' in diff.output
    assert runner.invoke(args=["processes", "diff", "two_step", "1", "7"]).exit_code == 2


def test_validate_reports_one_line_per_problem_and_exits_1(ctx, people, tmp_path):
    runner = ctx.test_cli_runner()
    folder = _folder(tmp_path, "two_step.bpmn")
    (folder / "broken.bpmn").write_bytes((FIXTURES / "two_step.bpmn").read_bytes().replace(b">PT1H<", b">PT1X<"))
    (folder / "lanes.bpmn").write_bytes((FIXTURES / "reply.bpmn").read_bytes().replace("测试受理岗".encode(), "无此岗".encode()))
    result = runner.invoke(args=["processes", "validate", str(folder)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith(("broken.bpmn", "lanes.bpmn"))]
    assert any(line.startswith("broken.bpmn:") and "approve_overdue" in line for line in lines)
    assert any(line.startswith("lanes.bpmn:") and "无此岗" in line for line in lines)
    assert "would create two_step v1" in result.output
    assert runner.invoke(args=["processes", "list"]).output.strip() == ""  # a validation stores nothing
    refused = runner.invoke(args=["processes", "deploy", str(folder)])
    assert refused.exit_code == 1 and "nothing deployed" in refused.output
    usage = runner.invoke(args=["processes", "deploy", str(tmp_path / "missing")])
    assert usage.exit_code == 2


def test_suspend_activate_withdraw_from_the_cli(ctx, people):
    runner = ctx.test_cli_runner()
    runner.invoke(args=["processes", "deploy", str(FIXTURES / "two_step.bpmn")])
    suspended = runner.invoke(args=["processes", "suspend", "two_step", "--reason", "维护"])
    assert suspended.exit_code == 0 and '"versions": [1]' in suspended.output
    assert runner.invoke(args=["processes", "suspend", "two_step", "--version", "1"]).exit_code == 1
    assert runner.invoke(args=["processes", "activate", "two_step"]).exit_code == 0
    assert runner.invoke(args=["processes", "withdraw", "two_step", "1"]).exit_code == 0
    assert runner.invoke(args=["processes", "withdraw", "nope", "1"]).exit_code == 2
