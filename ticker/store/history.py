"""History of NBK's official rates: what one day holds, and the backfill's plan, pure (no I/O, no clock).

A day is NBK's rate for ONE unit on that Astana date, its change against the day before, and the source. The
backfill asks NBK's ``get_rates.cfm?fdate=`` once per date, newest first, for the dates of the last DAYS
days before today that some configured currency still lacks; today's rate comes from the strip's own fetches.
A past day, once held, never changes (the store refuses to overwrite it); today's may, until midnight.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta

from pydantic import BaseModel, ConfigDict

from providers.base import Rate
from ticker.clock import astana_at, astana_date

SOURCE = "nbk"
DAILY_AT = time(1, 0)  # Astana: after midnight's confirmation of today's rate, long before the next publication

DaysByCurrency = Mapping[str, Mapping[date, "Day"]]  # currency -> date -> day


class Day(BaseModel):
    """One currency's official rate on one date, as stored (compact JSON)."""

    model_config = ConfigDict(frozen=True)

    rate: float
    change: float | None = None
    source: str = SOURCE


def window(today: date, days: int) -> list[date]:
    """The dates the backfill keeps filled, newest first: the ``days`` days before ``today``."""
    return [today - timedelta(days=n) for n in range(1, days + 1)]


def wanted(history: DaysByCurrency, currencies: Sequence[str], today: date, days: int) -> list[date]:
    """The dates still to ask NBK for, newest first: those some configured currency lacks."""
    return [day for day in window(today, days) if any(day not in history.get(code, {}) for code in currencies)]


def published(history: DaysByCurrency, currencies: Sequence[str], seen: Iterable[str]) -> list[str]:
    """The configured currencies NBK is known to publish: those it ever answered for (``seen`` in the strip's
    NBK entries, or held in history). Before NBK ever answered, all of them. A configured currency NBK does not
    publish would otherwise leave every date "lacking" and have each pass, and each restart, ask them all."""
    known = set(seen) | {code for code, days in history.items() if days}
    return [code for code in currencies if code in known] or list(currencies)


def stored(history: DaysByCurrency, currencies: Sequence[str], today: date, days: int) -> dict[str, int]:
    """Per currency, how many of the window's dates are held."""
    dates = set(window(today, days))
    return {code: len(dates.intersection(history.get(code, {}))) for code in currencies}


def days_of(rates: Iterable[Rate], currencies: Sequence[str], today: date) -> dict[str, dict[date, Day]]:
    """The rates worth recording, per currency: the configured ones, dated today or before (tomorrow's rate is
    recorded once it is in force), each under the date its document names, never another."""
    out: dict[str, dict[date, Day]] = {}
    for rate in rates:
        if rate.currency in currencies and rate.valid_on <= today:
            out.setdefault(rate.currency, {})[rate.valid_on] = Day(rate=rate.rate, change=rate.change)
    return out


def next_pass(now: datetime) -> datetime:
    """The next daily pass: DAILY_AT in Astana, today if still ahead, else tomorrow."""
    today = astana_date(now)
    at = astana_at(today, DAILY_AT.hour, DAILY_AT.minute)
    return at if at > now else astana_at(today + timedelta(days=1), DAILY_AT.hour, DAILY_AT.minute)
