"""The one clock, and what "today" means: Astana is UTC+5 all year (since 2024-03-01).

Nothing else in the service reads the wall clock; everything that needs the time is handed a ``Clock``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone

Clock = Callable[[], datetime]
ASTANA = timezone(timedelta(hours=5), "Asia/Almaty")


utcnow: Clock = functools.partial(datetime.now, UTC)  # no Python frame: read on every strip request


def astana_date(now: datetime) -> date:
    return now.astimezone(ASTANA).date()


def midnight(day: date) -> datetime:
    """The UTC instant Astana's ``day`` begins."""
    return datetime.combine(day, time(0), ASTANA).astimezone(UTC)


def astana_at(day: date, hour: int, minute: int = 0) -> datetime:
    """The UTC instant of a wall-clock time in Astana on ``day``."""
    return datetime.combine(day, time(hour, minute), ASTANA).astimezone(UTC)
