"""The `tongban` console command: the Flask CLI bound to this application."""

from flask.cli import FlaskGroup

from . import create_app

main = FlaskGroup(create_app=lambda: create_app())
