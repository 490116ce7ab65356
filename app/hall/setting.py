"""The hall's legal setting (hall.yaml's `district` and `authorities`): whom its notices name for 行政复议 and
行政诉讼, and the higher authorities 上报件 go to. Seeded once by bootstrap (a key changed since is kept), read
through a per-app memory that follows changes on every server process (a shared generation)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..caches import app_cache, bump_generation, shared_generation
from ..extensions import db
from .models import HallSetting

GENERATION = "hall_setting"
KEYS = ("district", "authorities")


def seed(hall: dict) -> list[str]:
    """hall.yaml's setting, where the database has none yet; returns the keys added."""
    added = []
    for key in KEYS:
        if key in hall and db.session.get(HallSetting, key) is None:
            db.session.add(HallSetting(key=key, value=hall[key]))
            added.append(key)
    if added:
        bump_generation(GENERATION)
    return added


def get(key: str, default: Any = None) -> Any:
    remembered = app_cache("hall.setting", dict)
    generation = shared_generation(GENERATION)
    if remembered.get("_generation") != generation:
        remembered.clear()
        with db.session.no_autoflush:
            remembered.update(dict(db.session.execute(sa.select(HallSetting.key, HallSetting.value)).all()))
        remembered["_generation"] = generation
    value = remembered.get(key)
    return default if value is None else value


def district() -> dict:
    return get("district", {}) or {}


def authorities() -> list[dict]:
    return get("authorities", []) or []
