"""Where attachment bytes live: outside the database, behind a small interface.

`FilesystemStorage` keeps each file under its SHA-256 (`ab/cd/abcd…`): the same content is stored once, a key
never changes meaning, and a write is atomic (a temporary file renamed into place). The folder is
TONGBAN_ATTACHMENTS_DIR, else `instance/attachments`; every server process of one installation must see the same
folder (a shared volume). Another backend (object storage) implements the same three methods.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol

from flask import current_app


class Storage(Protocol):
    def put(self, key: str, content: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...


class FilesystemStorage:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError("an attachment key is a SHA-256 in hex")
        return self.root / key[:2] / key[2:4] / key

    def put(self, key: str, content: bytes) -> None:
        path = self._path(key)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).exists()


def storage() -> Storage:
    """The app's storage (an app may set `ATTACHMENT_STORAGE` to another backend)."""
    given = current_app.config.get("ATTACHMENT_STORAGE")
    if given is not None:
        return given
    root = current_app.config.get("ATTACHMENTS_DIR") or os.environ.get("TONGBAN_ATTACHMENTS_DIR") \
        or Path(current_app.instance_path) / "attachments"
    return FilesystemStorage(root)
