"""`flask --app app ...` commands used by tools/serve and ops: bootstrap, `processes` (deploy, validate, list,
diff, suspend, activate, withdraw, migrate), fire timers.

Exit codes for scripts: 0 ok, 1 invalid (a file refused, a state change refused, a case not migrated), 2 usage
(bad arguments, a mapping naming unknown elements, unknown definition or version).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from flask import Flask, current_app

from .extensions import db

EXIT_INVALID, EXIT_USAGE = 1, 2
SUFFIXES = (".bpmn", ".dmn", ".yaml", ".yml")


def bootstrap(app: Flask, *, admin_token: str | None = None, load_processes: bool = True) -> dict:
    from .bootstrap import bootstrap as run

    return run(app, admin_token=admin_token, load_processes=load_processes)


def collect(paths: tuple[str, ...]) -> list[tuple[str, Path]]:
    """(name, path) of every BPMN/DMN/matter file given or under a folder given; names relative to their folder."""
    from .matters import service as matters

    found = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for each in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES):
                if each.suffix.lower() in (".bpmn", ".dmn") or matters.is_matter_file(each.name):
                    found.append((each.relative_to(path).as_posix(), each))
        else:
            found.append((path.as_posix(), path))
    return found


def _line(finding: dict) -> str:
    """One line per problem: file:line: element: message (what a script or an editor can jump to)."""
    where = finding.get("file") or "?"
    if finding.get("line"):
        where += f":{finding['line']}"
    element = finding.get("element") or finding.get("field")
    return f"{where}: {element + ': ' if element else ''}{finding.get('message')}"


def _run_deploy(paths: tuple[str, ...], *, dry_run: bool, changelog: str | None, allow_unknown_posts: bool,
                as_json: bool) -> None:
    from .definitions import flows

    files = collect(paths)
    if not files:
        raise click.UsageError("没有找到 .bpmn、.dmn 或事项 .yaml 文件 (no files to deploy)")
    uploads = [flows.Upload(name, path.read_bytes()) for name, path in files]
    options = {"dry_run": dry_run, "changelog": changelog, "unknown_posts": "allow" if allow_unknown_posts else "refuse"}
    show_bar = len(uploads) > 5 and not as_json and sys.stderr.isatty()
    try:
        with click.progressbar(length=len(uploads), label="部署" if not dry_run else "校验", file=sys.stderr,
                               hidden=not show_bar) as bar:
            outcome = flows.deploy(uploads, "cli", source="cli", progress=lambda _u: bar.update(1), **options)
    except Exception as exc:
        from .errors import ApiError

        if not isinstance(exc, ApiError):
            raise
        errors = exc.details.get("problems") if isinstance(exc.details, dict) else None
        for finding in errors or [{"message": exc.message, **(exc.details or {})}]:
            click.echo(_line(finding), err=True)
        click.echo(f"refused: {len(errors or [1])} problem(s); nothing deployed", err=True)
        sys.exit(EXIT_INVALID)
    if as_json:
        click.echo(json.dumps([{"file": f.file, "kind": f.kind, "ok": f.ok, "definitions": f.definitions,
                                "matter": f.record, "errors": f.errors, "warnings": f.warnings}
                               for f in outcome.files], ensure_ascii=False, default=str))
    else:
        for report in outcome.files:
            for item in report.definitions:
                verb = ("would create" if dry_run else "new") if item["created"] else "same"
                click.echo(f"{verb} {item['key']} v{item['version']}  ({report.file})")
            if report.record and report.kind == "matter":
                verb = ("would update" if dry_run else "new") if report.record["created"] else "same"
                click.echo(f"{verb} matter {report.record['code']}  ({report.file})")
            for finding in report.errors:
                click.echo(_line(finding), err=True)
            for finding in report.warnings:
                click.echo("warning: " + _line(finding), err=True)
    if outcome.errors:
        click.echo(f"invalid: {len(outcome.errors)} problem(s) in "
                   f"{sum(1 for f in outcome.files if not f.ok)} file(s)", err=True)
        sys.exit(EXIT_INVALID)


def _lifecycle(action, key: str, version: int | None, **kwargs) -> None:
    from .errors import ApiError, NotFound

    try:
        result = action(key, version, "cli", **kwargs)
    except NotFound as exc:
        click.echo(exc.message, err=True)
        sys.exit(EXIT_USAGE)
    except ApiError as exc:
        click.echo(exc.message, err=True)
        sys.exit(EXIT_INVALID)
    click.echo(json.dumps(result, ensure_ascii=False))


def _migrate(key: str, from_version: int, to_version: int, mappings: tuple[str, ...], instances: tuple[str, ...],
             dry_run: bool, batch_size: int, as_json: bool) -> None:
    """One line per case (outcome, id, business key, reasons); exit 1 when any case was refused."""
    from .errors import ApiError, BadRequest, NotFound
    from .instances import migration

    mapping = {}
    for item in mappings:
        source, sep, target = item.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise click.UsageError(f"--map 应为 源元素=目标元素 (SOURCE=TARGET): {item}")
        mapping[source.strip()] = target.strip()
    request = migration.Request(key, from_version, to_version, mapping, list(instances) or None, dry_run, batch_size)
    try:
        result = migration.migrate(request, "cli")
    except (NotFound, BadRequest) as exc:
        click.echo(exc.message, err=True)
        sys.exit(EXIT_USAGE)
    except ApiError as exc:  # a mapping naming elements the versions lack is a bad argument too
        for problem in (exc.details.get("problems") if isinstance(exc.details, dict) else None) or [exc.message]:
            click.echo(problem, err=True)
        sys.exit(EXIT_USAGE if exc.code == "invalid_migration" else EXIT_INVALID)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, default=str))
    else:
        for item in result["items"]:
            line = f"{item['outcome']}\t{item['instance_id']}\t{item['business_key'] or '-'}"
            moves = ", ".join(f"{e['element']}→{e['to']}" if e["element"] != e["to"] else e["element"]
                              for e in item["elements"])
            click.echo(f"{line}\t{moves or '-'}" + (f"\t{'; '.join(item['reasons'])}" if item["reasons"] else ""))
        counts = ", ".join(f"{n} {outcome}" for outcome, n in result["summary"].items() if n)
        click.echo(f"{key} v{from_version} → v{to_version}{' (dry run)' if dry_run else ''}: {counts or 'no cases'}",
                   err=True)
        for source, target in result["suggested_mapping"].items():
            click.echo(f"hint: --map {source}={target} ?", err=True)
    if result["summary"]["refused"]:
        sys.exit(EXIT_INVALID)


def register(app: Flask) -> None:
    @app.cli.command("bootstrap")
    @click.option("--admin-token", envvar="TONGBAN_ADMIN_TOKEN", default=None)
    def bootstrap_command(admin_token: str | None) -> None:
        """Seed the hall, forms/ and processes/ where new or changed since the last bootstrap; print the admin token."""
        from .errors import ApiError

        try:
            summary = bootstrap(current_app, admin_token=admin_token)
        except ApiError as exc:  # a shipped file refused: one line per problem, not a traceback
            problems = exc.details.get("problems") if isinstance(exc.details, dict) else None
            for finding in problems or [{"message": exc.message, **(exc.details if isinstance(exc.details, dict) else {})}]:
                click.echo(_line(finding), err=True)
            sys.exit(EXIT_INVALID)
        token = summary.pop("admin_token")
        click.echo(f"bootstrap: {summary}")
        if admin_token or os.environ.get("TONGBAN_ADMIN_TOKEN"):
            click.echo("admin token: (from TONGBAN_ADMIN_TOKEN)")
        elif token:  # printed only when minted now: the admin had no valid token
            click.echo(f"admin token: {token}")
        else:
            click.echo("admin token: (unchanged; the admin already has a valid token)")

    deploy_options = [
        click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True)),
        click.option("--changelog", "-m", default=None, help="what changed (kept in the deployment history)"),
        click.option("--allow-unknown-posts", is_flag=True, help="deploy lanes naming no post (a warning)"),
        click.option("--json", "as_json", is_flag=True, help="the per-file report as JSON"),
    ]

    def with_options(function):
        for option in reversed(deploy_options):
            function = option(function)
        return function

    @app.cli.group("processes")
    def processes() -> None:
        """Deploy, validate, list, compare, suspend, activate and withdraw process definitions; migrate cases."""

    @processes.command("deploy")
    @with_options
    def deploy_command(paths, changelog, allow_unknown_posts, as_json) -> None:
        """Deploy BPMN/DMN files and matter records (*.yaml): files or folders; only changed content is new."""
        _run_deploy(paths, dry_run=False, changelog=changelog, allow_unknown_posts=allow_unknown_posts,
                    as_json=as_json)

    @processes.command("validate")
    @with_options
    def validate_command(paths, changelog, allow_unknown_posts, as_json) -> None:
        """Check files or folders as a deploy would, report every problem per file and element, store nothing."""
        _run_deploy(paths, dry_run=True, changelog=changelog, allow_unknown_posts=allow_unknown_posts,
                    as_json=as_json)

    @processes.command("list")
    @click.option("--kind", type=click.Choice(["bpmn", "dmn"]), default=None)
    @click.option("--all-versions", is_flag=True, help="every version, not only the current one")
    def list_command(kind, all_versions) -> None:
        """The current version of every definition (key, version, state, deployed by and when)."""
        from .clock import SHANGHAI
        from .definitions import service
        from .definitions.models import ProcessDefinition

        if all_versions:
            query = db.select(ProcessDefinition).order_by(ProcessDefinition.key, ProcessDefinition.version)
            if kind:
                query = query.where(ProcessDefinition.kind == kind)
            items = list(db.session.scalars(query))
        else:
            items, _ = service.list_latest(kind=kind, limit=100_000)
        for d in items:
            click.echo(f"{d.key}\tv{d.version}\t{d.state}\t{d.kind}\t{d.deployed_by or '-'}\t"
                       f"{d.deployed_at.astimezone(SHANGHAI).isoformat(timespec='seconds')}\t{d.name}")

    @processes.command("diff")
    @click.argument("key")
    @click.argument("from_version", type=int)
    @click.argument("to_version", type=int)
    def diff_command(key, from_version, to_version) -> None:
        """What changed between two versions of KEY, by element (JSON)."""
        from .definitions import diff, service
        from .errors import NotFound

        try:
            old, new = service.get_version_or_404(key, from_version), service.get_version_or_404(key, to_version)
        except NotFound as exc:
            click.echo(exc.message, err=True)
            sys.exit(EXIT_USAGE)
        click.echo(json.dumps({"key": key, "from": from_version, "to": to_version,
                               **diff.diff(old.content, new.content)}, ensure_ascii=False, indent=2))

    lifecycle_options = [click.argument("key"),
                         click.option("--version", "version", type=int, default=None, help="one version; default all"),
                         click.option("--reason", default=None),
                         click.option("--include-instances", is_flag=True, help="the running cases too")]

    def with_lifecycle(function):
        for option in reversed(lifecycle_options):
            function = option(function)
        return function

    @processes.command("suspend")
    @with_lifecycle
    def suspend_command(key, version, reason, include_instances) -> None:
        """Suspend KEY (every version) or one --version: new cases are refused."""
        from .instances import lifecycle

        _lifecycle(lifecycle.suspend, key, version, reason=reason, include_instances=include_instances)

    @processes.command("activate")
    @with_lifecycle
    def activate_command(key, version, reason, include_instances) -> None:
        """Activate KEY (every suspended version) or one --version."""
        from .instances import lifecycle

        _lifecycle(lifecycle.activate, key, version, reason=reason, include_instances=include_instances)

    @processes.command("withdraw")
    @click.argument("key")
    @click.argument("version", type=int)
    @click.option("--reason", default=None)
    def withdraw_command(key, version, reason) -> None:
        """Withdraw VERSION of KEY: new cases use the previous version; timer start events follow."""
        from .instances import lifecycle

        _lifecycle(lifecycle.withdraw, key, version, reason=reason)

    @processes.command("migrate")
    @click.argument("key")
    @click.option("--from", "from_version", type=int, required=True, help="the version the cases run now")
    @click.option("--to", "to_version", type=int, required=True, help="the version they move to")
    @click.option("--map", "mappings", multiple=True, metavar="SOURCE=TARGET", help="an element whose id changed")
    @click.option("--instance", "instances", multiple=True, help="one case id (repeat); default every running case")
    @click.option("--dry-run", is_flag=True, help="report per case, change nothing")
    @click.option("--batch-size", type=click.IntRange(1, 1000), default=50)
    @click.option("--json", "as_json", is_flag=True, help="the whole report as JSON")
    def migrate_command(key, from_version, to_version, mappings, instances, dry_run, batch_size, as_json) -> None:
        """Migrate running cases of KEY from one version to another (same service as the API)."""
        _migrate(key, from_version, to_version, mappings, instances, dry_run, batch_size, as_json)

    @app.cli.command("deploy")
    @with_options
    def deploy_alias(paths, changelog, allow_unknown_posts, as_json) -> None:
        """Same as `flask processes deploy` (files or folders)."""
        _run_deploy(paths, dry_run=False, changelog=changelog, allow_unknown_posts=allow_unknown_posts,
                    as_json=as_json)

    @app.cli.command("fire-timers")
    def fire_timers_command() -> None:
        """Fire the timers that are due now (the scheduler does this continuously)."""
        from .timers import service as timers

        click.echo(f"advanced {timers.fire_due()} case(s)")
