"""The intake tests use the real hall and matters (tests/documents/conftest.py): `hall` and `window` fixtures."""

from tests.documents.conftest import hall, window  # noqa: F401
