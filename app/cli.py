"""`flask --app app ...` commands used by tools/serve and ops: bootstrap, deploy a folder, fire timers."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import Flask, current_app

from .extensions import db


def bootstrap(app: Flask, *, admin_token: str | None = None, load_processes: bool = True) -> dict:
    """Seed the hall, deploy forms and processes, make sure the admin has a token. Idempotent."""
    from .definitions import service as definitions
    from .forms import service as forms
    from .instances import service as instances
    from .matters import service as matters
    from .people import service as people

    summary: dict = {}
    processes = Path(app.config["PROCESSES_DIR"])
    hall = processes / "hall.yaml"
    if hall.exists():
        summary["hall"] = people.load_hall(hall)
    _, token = people.ensure_admin(admin_token)
    summary["admin_token"] = token
    forms_dir = Path(app.config["FORMS_DIR"])
    if forms_dir.exists():
        summary["forms"] = sum(1 for _, created in forms.deploy_directory(forms_dir) if created)
    deployed = []
    if load_processes and processes.exists():
        deployed = definitions.deploy_directory(processes)
        summary["definitions"] = sum(1 for _, created in deployed if created)
        summary["matters"] = sum(1 for _, created in matters.deploy_directory(processes) if created)
    db.session.commit()
    instances.arm_timer_starts(deployed)
    return summary


def register(app: Flask) -> None:
    @app.cli.command("bootstrap")
    @click.option("--admin-token", envvar="TONGBAN_ADMIN_TOKEN", default=None)
    def bootstrap_command(admin_token: str | None) -> None:
        """Seed posts and users from processes/hall.yaml, deploy forms/ and processes/, print the admin token."""
        summary = bootstrap(current_app, admin_token=admin_token)
        token = summary.pop("admin_token")
        click.echo(f"bootstrap: {summary}")
        if admin_token or os.environ.get("TONGBAN_ADMIN_TOKEN"):
            click.echo("admin token: (from TONGBAN_ADMIN_TOKEN)")
        elif token:  # printed only when minted now: the admin had no valid token
            click.echo(f"admin token: {token}")
        else:
            click.echo("admin token: (unchanged; the admin already has a valid token)")

    @app.cli.command("deploy")
    @click.argument("folder", type=click.Path(exists=True, file_okay=False))
    def deploy_command(folder: str) -> None:
        """Deploy every BPMN/DMN file of a folder and load its matter records (*.yaml), where content changed."""
        from .definitions import service as definitions
        from .instances import service as instances
        from .matters import service as matters

        results = definitions.deploy_directory(folder, actor="cli")
        loaded = matters.deploy_directory(folder, actor="cli")
        db.session.commit()
        instances.arm_timer_starts(results)
        for definition, created in results:
            click.echo(f"{'new' if created else 'same'} {definition.key} v{definition.version}")
        for matter, created in loaded:
            click.echo(f"{'new' if created else 'same'} matter {matter.code}")

    @app.cli.command("fire-timers")
    def fire_timers_command() -> None:
        """Fire the timers that are due now (the scheduler does this continuously)."""
        from .timers import service as timers

        click.echo(f"advanced {timers.fire_due()} case(s)")
