"""The HTTP API (/api/v1): flask-smorest blueprints, one module per noun. Views are thin: they check who may do
what (app/people/access.py), call a service or a flow, and commit the unit of work."""
