"""The replay's clock for server processes: TONGBAN_CLOCK_FILE, off unless set, read again when the file changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.clock import FileClock


def test_the_clock_is_the_file_and_moves_with_it(tmp_path):
    path = str(tmp_path / "clock")
    FileClock.write(path, datetime(2008, 10, 28, 1, 0, tzinfo=UTC))
    clock = FileClock(path)
    assert clock() == datetime(2008, 10, 28, 1, 0, tzinfo=UTC)
    FileClock.write(path, datetime(2008, 10, 28, 9, 30, tzinfo=UTC) + timedelta(hours=1))
    assert clock() == datetime(2008, 10, 28, 10, 30, tzinfo=UTC)
    (tmp_path / "clock").write_text("2008-11-03T09:00:00+08:00", encoding="utf-8")
    assert clock() == datetime(2008, 11, 3, 1, 0, tzinfo=UTC)
    (tmp_path / "clock").unlink()
    with pytest.raises(FileNotFoundError):  # never the system time instead
        clock()


def test_an_app_reads_it_only_when_told(monkeypatch, tmp_path, database):
    from app import create_app

    monkeypatch.delenv("TONGBAN_CLOCK_FILE", raising=False)
    plain = create_app({"SQLALCHEMY_DATABASE_URI": database, "SCHEDULER_ENABLED": False})
    assert plain.config["CLOCK_FILE"] is None and plain.config.get("CLOCK") is None

    path = tmp_path / "clock"
    FileClock.write(str(path), datetime(2008, 12, 1, 2, 0, tzinfo=UTC))
    monkeypatch.setenv("TONGBAN_CLOCK_FILE", str(path))
    moved = create_app({"SQLALCHEMY_DATABASE_URI": database, "SCHEDULER_ENABLED": False})
    with moved.app_context():
        from app.clock import now

        assert now() == datetime(2008, 12, 1, 2, 0, tzinfo=UTC)
