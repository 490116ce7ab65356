"""The SpiffWorkflow adapter: parsing, compiled specs, state serialization, timers and running cases.

It knows nothing of Flask or the database; the services hand it bytes and JSON and get plain results back.
"""
