"""Open-Meteo's time fields, shared by its forecast and air-quality answers: the instant of a ``current`` slot
and the slot's length (``current.interval``), which is the reading's cadence."""

from __future__ import annotations

import datetime as dt
from datetime import datetime, timedelta

from providers.errors import FormatError


def slot_seconds(value: object) -> float | None:
    """A source's own slot length (Open-Meteo's ``current.interval``) when it is a sane number of seconds (1 s to a
    day); None otherwise, so a bad one costs the cadence (the provider's declared one applies), not the value."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 86400:
        return None
    return float(value)


def instant(raw: float | str, offset: float) -> datetime:
    """A UTC instant from Open-Meteo's ``time``: epoch seconds (``timeformat=unixtime``), or ISO 8601 local time
    without an offset, which ``utc_offset_seconds`` gives."""
    if isinstance(raw, float | int):
        return datetime.fromtimestamp(raw, dt.UTC)  # epoch seconds: the offset does not apply
    try:
        local = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise FormatError(f"current.time {raw!r} is not ISO 8601") from exc
    if local.tzinfo is not None:
        return local.astimezone(dt.UTC)
    return (local - timedelta(seconds=offset)).replace(tzinfo=dt.UTC)
