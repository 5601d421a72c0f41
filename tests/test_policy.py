"""The freshness policy, driven by a table: items, sources, readings and instants in, decisions out.

Every expected value is worked out by hand from the rules the README states (its section on what "current"
means), never from the code: a rate is current on the Astana date it is in force on; a reading until
observed_at + its source's cadence (Open-Meteo's answer says 900 s; MET Norway's steps are hourly) +
STALE_AFTER (default 2 x INTERVAL); per item the newest reading wins; a failing source is asked again within
10 minutes at most. Astana is UTC+5.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from providers.base import Rate, Record, Temperature
from ticker.policy import Policy
from ticker.render.query import Query
from ticker.render.strip import StripBuilder
from ticker.settings import Settings
from ticker.state import Entry, Held, SourceStatus, expired, key_of


def astana(text: str) -> datetime:
    """An Astana wall-clock time as a UTC instant: astana("2026-04-02 00:01") is 2026-04-01T19:01Z."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC) - timedelta(hours=5)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def rate(
    source: str, currency: str, value: float, day: str, fetched: datetime, changed: datetime | None = None
) -> Entry:
    record = Rate(currency=currency, rate=value, date=date.fromisoformat(day))
    return Entry(source=source, record=record, fetched_at=fetched, changed_at=changed or fetched)


def reading(
    source: str,
    city: str,
    value: float,
    observed: datetime,
    cadence: float | None = None,
    changed: datetime | None = None,
) -> Entry:
    record = Temperature(city=city, temperature=value, observed_at=observed, cadence=cadence)
    return Entry(source=source, record=record, fetched_at=changed or observed, changed_at=changed or observed)


def held(*entries: Entry, status: list[SourceStatus] | None = None) -> Held:
    by_source: dict[str, dict[str, Entry]] = {}
    for entry in entries:
        by_source.setdefault(entry.source, {})[key_of(entry.record)] = entry
    return Held(by_source, {s.source: s for s in status or []})


def asked(source: str, at: datetime, failures: int = 0, open_until: datetime | None = None) -> SourceStatus:
    return SourceStatus(source=source, last_attempt=at, failures=failures, open_until=open_until)


def settings(**overrides: Any) -> Settings:
    return Settings(**{"history": {"days": 0}, **overrides})


@dataclass(frozen=True)
class Case:
    name: str
    ask: Callable[[Policy], object]
    expect: object
    config: dict[str, Any] = field(default_factory=dict)


T0 = astana("2026-04-01 10:00")

# --- readings: current by their source's cadence, not by how often we ask ------------------------------

OM_2245 = reading("open_meteo", "astana", -3.0, utc("2026-12-06T22:45"), cadence=900)
MET_2200 = reading("met_no", "astana", -5.0, utc("2026-12-06T22:00"))  # MET declares hourly steps
CURRENT = [
    # INTERVAL=60 (grace 120 s), 14 minutes into Open-Meteo's 15-minute slot: still current (until 23:02)
    Case(
        "om-interval-60-late-in-slot",
        lambda p: p.is_current("open_meteo", OM_2245.record, utc("2026-12-06T22:59")),
        True,
        {"open_meteo": {"interval": 60}},
    ),
    Case(
        "om-interval-60-stale-at",
        lambda p: p.stale_at("open_meteo", OM_2245.record),
        utc("2026-12-06T23:02"),
        {"open_meteo": {"interval": 60}},
    ),
    Case(
        "om-interval-60-past-it",
        lambda p: p.is_current("open_meteo", OM_2245.record, utc("2026-12-06T23:02")),
        False,
        {"open_meteo": {"interval": 60}},
    ),
    # the defaults: 900 s slot + 1800 s grace = 2,700 s
    Case("om-defaults", lambda p: p.stale_at("open_meteo", OM_2245.record), utc("2026-12-06T23:30")),
    # an answer that does not say its slot: the provider's declared 900 s
    Case(
        "om-declared-cadence",
        lambda p: p.stale_at("open_meteo", reading("open_meteo", "astana", 1.0, utc("2026-12-06T22:45")).record),
        utc("2026-12-06T23:30"),
    ),
    # the answer's own slot wins over the declared one (an hourly model: 3600 + 1800)
    Case(
        "om-answer-says-hourly",
        lambda p: p.stale_at(
            "open_meteo", reading("open_meteo", "astana", 1.0, utc("2026-12-06T22:00"), cadence=3600).record
        ),
        utc("2026-12-06T23:30"),
    ),
    # MET Norway: hourly steps + 2 x its 1800 s interval
    Case("met-defaults", lambda p: p.stale_at("met_no", MET_2200.record), utc("2026-12-07T00:00")),
    Case(
        "met-interval-60",
        lambda p: p.stale_at("met_no", MET_2200.record),
        utc("2026-12-06T23:02"),
        {"met_no": {"interval": 60, "user_agent": "t/1 t@example.kz"}},
    ),
    Case(
        "explicit-stale-after",
        lambda p: p.stale_at("open_meteo", OM_2245.record),
        utc("2026-12-06T23:15"),
        {"open_meteo": {"stale_after": 900}},
    ),
    Case(
        "null-temperature-never-current",
        lambda p: p.is_current(
            "open_meteo",
            Temperature(city="astana", temperature=None, observed_at=utc("2026-12-06T22:45")),
            utc("2026-12-06T22:46"),
        ),
        False,
    ),
    # rates: in force on today's Astana date, whatever the hour they were fetched
    Case(
        "rate-today-at-2359",
        lambda p: p.is_current("nbk", rate("nbk", "USD", 1, "2026-04-01", T0).record, astana("2026-04-01 23:59:59")),
        True,
    ),
    Case(
        "rate-stale-at-midnight",
        lambda p: p.is_current("nbk", rate("nbk", "USD", 1, "2026-04-01", T0).record, astana("2026-04-02 00:00")),
        False,
    ),
    Case(
        "rate-tomorrow-not-current",
        lambda p: p.is_current("nbk", rate("nbk", "USD", 1, "2026-04-02", T0).record, astana("2026-04-01 18:00")),
        False,
    ),
    Case(
        "rate-stale-at",
        lambda p: p.stale_at("nbk", rate("nbk", "USD", 1, "2026-04-01", T0).record),
        astana("2026-04-02 00:00"),
    ),
]

# --- which value an item shows ------------------------------------------------------------------------


def shown(kind: str, item: str, holdings: Held, now: datetime) -> Callable[[Policy], object]:
    """(source, value, stale, since, next's date) of what the item shows."""

    def ask(policy: Policy) -> object:
        pick = policy.pick(kind, item, holdings, now)  # type: ignore[arg-type]
        value = None if pick.entry is None else getattr(pick.entry.record, "rate", None)
        if pick.entry is not None and value is None:
            value = getattr(pick.entry.record, "temperature", None)
        source = None if pick.entry is None else pick.entry.source
        return source, value, pick.stale, pick.since, None if pick.next is None else pick.next.date.isoformat()

    return ask


OM = "open_meteo"
PICKS = [
    # newest reading wins: a fallback's older reading never replaces a newer one, current or not
    Case(
        "older-fallback-never-replaces",
        shown("weather", "astana", held(OM_2245, MET_2200), utc("2026-12-06T23:05")),
        (OM, -3.0, True, utc("2026-12-06T23:02"), None),
        {"open_meteo": {"interval": 60}},
    ),
    Case(
        "newer-fallback-wins",
        shown(
            "weather",
            "astana",
            held(OM_2245, reading("met_no", "astana", -4.0, utc("2026-12-06T23:00"), changed=utc("2026-12-06T23:03"))),
            utc("2026-12-06T23:05"),
        ),
        ("met_no", -4.0, False, utc("2026-12-06T23:03"), None),
        {"open_meteo": {"interval": 60}},
    ),
    # a tie: the current one, then chain order
    Case(
        "tie-current-first",
        shown(
            "weather",
            "astana",
            held(
                reading(OM, "astana", 1.0, utc("2026-12-06T22:00"), cadence=900),
                reading("met_no", "astana", 2.0, utc("2026-12-06T22:00")),
            ),
            utc("2026-12-06T22:50"),
        ),
        ("met_no", 2.0, False, utc("2026-12-06T22:45"), None),
    ),  # Open-Meteo's went stale at 22:45: the switch
    Case(
        "tie-chain-order",
        shown(
            "weather",
            "astana",
            held(
                reading(OM, "astana", 1.0, utc("2026-12-06T22:00"), cadence=900),
                reading("met_no", "astana", 2.0, utc("2026-12-06T22:00")),
            ),
            utc("2026-12-06T22:10"),
        ),
        (OM, 1.0, False, utc("2026-12-06T22:00"), None),
    ),
    # nothing shown changed, yet something hidden did: a hidden fallback turning stale moves nothing
    Case(
        "hidden-flip-moves-nothing",
        shown(
            "weather",
            "astana",
            held(
                reading(OM, "astana", 1.0, utc("2026-12-06T10:30"), cadence=900, changed=utc("2026-12-06T10:31")),
                reading("met_no", "astana", 2.0, utc("2026-12-06T09:00")),
            ),
            utc("2026-12-06T11:05"),
        ),
        (OM, 1.0, False, utc("2026-12-06T10:31"), None),
    ),  # MET's 09:00 went stale at 11:00, unseen
    Case(
        "hidden-rate-fallback-flip",
        shown(
            "rates",
            "USD",
            held(
                rate("nbk", "USD", 478.0, "2026-04-02", astana("2026-04-02 00:05")),
                rate("cbr", "USD", 470.0, "2026-04-01", astana("2026-04-01 10:00")),
            ),
            astana("2026-04-02 09:00"),
        ),
        ("nbk", 478.0, False, astana("2026-04-02 00:05"), None),
    ),
    # rates: the official source first while current, whatever a later source holds
    Case(
        "official-first",
        shown(
            "rates",
            "USD",
            held(rate("nbk", "USD", 478.0, "2026-04-01", T0), rate("cbr", "USD", 479.0, "2026-04-01", T0)),
            T0,
        ),
        ("nbk", 478.0, False, T0, None),
    ),
    Case(
        "fallback-when-official-is-stale",
        shown(
            "rates",
            "USD",
            held(
                rate("nbk", "USD", 478.0, "2026-03-31", T0 - timedelta(days=1)),
                rate("cbr", "USD", 479.0, "2026-04-01", astana("2026-04-01 00:03")),
            ),
            T0,
        ),
        ("cbr", 479.0, False, astana("2026-04-01 00:03"), None),
    ),
    # nothing current: the newest value, marked stale (yesterday's, not one of 2-3 days ago)
    Case(
        "two-stale-dates-newest-shown",
        shown(
            "rates",
            "USD",
            held(
                rate("nbk", "USD", 470.0, "2026-03-30", astana("2026-03-30 00:01")),
                rate("cbr", "USD", 475.0, "2026-03-31", astana("2026-03-31 00:01")),
            ),
            T0,
        ),
        ("cbr", 475.0, True, astana("2026-04-01 00:00"), None),
    ),
    Case(
        "two-stale-dates-one-source",
        shown(
            "rates",
            "USD",
            held(
                rate("nbk", "USD", 470.0, "2026-03-30", astana("2026-03-30 00:01")),
                rate("cbr", "USD", 475.0, "2026-03-29", astana("2026-03-29 00:01")),
                rate("cbr", "USD", 476.0, "2026-03-31", astana("2026-03-31 00:01")),
            ),
            T0,
        ),
        ("cbr", 476.0, True, astana("2026-04-01 00:00"), None),
    ),
    # only tomorrow's rate held: today's slot is empty ("–") and tomorrow's is ``next``, never shown as today's
    Case(
        "only-tomorrow-held",
        shown("rates", "USD", held(rate("nbk", "USD", 480.0, "2026-04-02", T0)), T0),
        (None, None, True, None, "2026-04-02"),
    ),
    Case(
        "tomorrow-beside-today",
        shown(
            "rates",
            "USD",
            held(rate("nbk", "USD", 478.0, "2026-04-01", T0), rate("nbk", "USD", 480.0, "2026-04-02", T0)),
            T0,
        ),
        ("nbk", 478.0, False, T0, "2026-04-02"),
    ),
    Case("nothing-held", shown("weather", "astana", held(), T0), (None, None, True, None, None)),
    # another replica's clock a little ahead: what the item shows never changed after now
    Case(
        "since-never-in-the-future",
        shown(
            "weather",
            "astana",
            held(reading(OM, "astana", 1.0, utc("2026-12-06T22:45"), cadence=900, changed=utc("2026-12-06T22:50:02"))),
            utc("2026-12-06T22:50"),
        ),
        (OM, 1.0, False, utc("2026-12-06T22:50"), None),
    ),
]


def upcoming(kind: str, item: str, holdings: Held, now: datetime) -> Callable[[Policy], object]:
    return lambda policy: sorted(policy.pick(kind, item, holdings, now).upcoming)  # type: ignore[arg-type]


INSTANTS = [
    # midnight with only tomorrow's rate held: time alone changes the item then, so the snapshot redraws
    Case(
        "only-tomorrow-redraws-at-midnight",
        upcoming("rates", "USD", held(rate("nbk", "USD", 480.0, "2026-04-02", T0)), T0),
        [astana("2026-04-02 00:00"), astana("2026-04-03 00:00")],
    ),
    Case(
        "reading-turns-stale",
        upcoming("weather", "astana", held(OM_2245), utc("2026-12-06T22:50")),
        [utc("2026-12-06T23:30")],
    ),
]


# --- which source is asked next, and when ----------------------------------------------------------------


def planned(source: str, holdings: Held, now: datetime) -> Callable[[Policy], object]:
    """(purpose, Astana date asked for, due) of the source's next run, or None."""

    def ask(policy: Policy) -> object:
        run = policy.plan(source, holdings, now)
        return None if run is None else (run.purpose, run.day.isoformat(), run.due)

    return ask


ASTANA_ONLY: dict[str, Any] = {"cities": [{"id": "astana", "name": "Astana", "latitude": 51.18, "longitude": 71.45}]}
NBK_FAILED_AFTER_MIDNIGHT = asked("nbk", astana("2026-04-02 00:00:30"), 1, astana("2026-04-02 00:01:00"))
CBR_ON_STANDBY = asked("cbr", astana("2026-04-01 22:00"))  # asked the evening before, as a cross-check
PLANS = [
    # after Astana midnight with NBK failing, CBR is asked at once, though it was asked the evening before
    Case(
        "fallback-asked-the-evening-before",
        planned(
            "cbr",
            held(
                rate("nbk", "USD", 478.0, "2026-04-01", astana("2026-04-01 00:01")),
                rate("cbr", "USD", 470.0, "2026-03-31", astana("2026-03-31 12:00")),
                rate("cbr", "USD", 471.0, "2026-04-01", astana("2026-04-01 12:00")),
                status=[NBK_FAILED_AFTER_MIDNIGHT, CBR_ON_STANDBY],
            ),
            astana("2026-04-02 00:01"),
        ),
        ("today", "2026-04-02", astana("2026-04-02 00:00:30")),
        {"currencies": ["USD"]},
    ),
    # the failing primary itself is asked when its gap is over
    Case(
        "failing-primary-after-its-gap",
        planned(
            "nbk",
            held(
                rate("nbk", "USD", 478.0, "2026-04-01", astana("2026-04-01 00:01")),
                status=[NBK_FAILED_AFTER_MIDNIGHT, CBR_ON_STANDBY],
            ),
            astana("2026-04-02 00:00:40"),
        ),
        ("today", "2026-04-02", astana("2026-04-02 00:01:00")),
        {"currencies": ["USD"]},
    ),
    # six hours of failures: the gap never passes 10 minutes
    Case(
        "six-hours-of-failures",
        planned(
            "nbk",
            held(status=[asked("nbk", astana("2026-04-02 06:00"), 40, astana("2026-04-02 06:10"))]),
            astana("2026-04-02 06:05"),
        ),
        ("today", "2026-04-02", astana("2026-04-02 06:10")),
        {"currencies": ["USD"]},
    ),
    # tomorrow's rates held before midnight are today's at midnight; NBK confirms them once, a minute after
    Case(
        "confirm-after-midnight",
        planned(
            "nbk",
            held(
                rate("nbk", "USD", 480.0, "2026-04-02", astana("2026-04-01 16:01")),
                status=[
                    SourceStatus(
                        source="nbk", last_attempt=astana("2026-04-01 12:00"), next_attempt=astana("2026-04-01 16:01")
                    )
                ],
            ),
            astana("2026-04-02 00:00:30"),
        ),
        ("today", "2026-04-02", astana("2026-04-02 00:01")),
        {"currencies": ["USD"]},
    ),
    # another replica's entries arrived before its status: they confirm the run, nothing is asked again
    Case(
        "entries-before-their-status",
        planned(
            "nbk",
            held(rate("nbk", "USD", 478.0, "2026-12-07", astana("2026-12-07 06:23"))),
            astana("2026-12-07 06:23:01"),
        ),
        ("today", "2026-12-07", astana("2026-12-07 10:23")),
        {"currencies": ["USD"]},
    ),
    # tomorrow's rates: from 15:45 Astana, every 5 minutes at first
    Case(
        "tomorrow-first-poll",
        planned(
            "nbk",
            held(
                rate("nbk", "USD", 478.0, "2026-04-01", astana("2026-04-01 00:01")),
                status=[asked("nbk", astana("2026-04-01 15:40"))],
            ),
            astana("2026-04-01 15:50"),
        ),
        ("next", "2026-04-02", astana("2026-04-01 15:45")),
        {"currencies": ["USD"]},
    ),
    Case(
        "tomorrow-second-poll",
        planned(
            "nbk",
            held(
                rate("nbk", "USD", 478.0, "2026-04-01", astana("2026-04-01 00:01")),
                status=[
                    SourceStatus(
                        source="nbk",
                        last_attempt=astana("2026-04-01 15:40"),
                        next_attempt=astana("2026-04-01 15:45:02"),
                    )
                ],
            ),
            astana("2026-04-01 15:50"),
        ),
        ("next", "2026-04-02", astana("2026-04-01 15:50")),
        {"currencies": ["USD"]},
    ),
    Case(
        "tomorrow-held-no-poll",
        planned(
            "nbk",
            held(
                rate("nbk", "USD", 478.0, "2026-04-01", astana("2026-04-01 00:01")),
                rate("nbk", "USD", 480.0, "2026-04-02", astana("2026-04-01 16:01")),
                status=[asked("nbk", astana("2026-04-01 00:01"))],
            ),
            astana("2026-04-01 16:30"),
        ),
        ("today", "2026-04-01", astana("2026-04-01 04:01")),
        {"currencies": ["USD"]},
    ),
    # a weather fallback is not asked while the primary's reading is current ...
    Case(
        "weather-fallback-idle",
        planned(
            "met_no",
            held(OM_2245, status=[asked(OM, utc("2026-12-06T23:29")), asked("met_no", utc("2026-12-06T20:00"))]),
            utc("2026-12-06T23:29:30"),
        ),
        None,
        ASTANA_ONLY,
    ),
    # ... and at once from the instant it turned stale (the newest reading then is still Open-Meteo's)
    Case(
        "weather-fallback-at-the-flip",
        planned(
            "met_no",
            held(OM_2245, status=[asked(OM, utc("2026-12-06T23:29")), asked("met_no", utc("2026-12-06T20:00"))]),
            utc("2026-12-06T23:31"),
        ),
        ("today", "2026-12-07", utc("2026-12-06T23:30")),
        ASTANA_ONLY,
    ),
    # INTERVAL=60, 14 minutes into the slot: Open-Meteo's reading is current, MET is never asked
    Case(
        "interval-60-no-fallback",
        planned(
            "met_no",
            held(OM_2245, status=[asked(OM, utc("2026-12-06T22:59")), asked("met_no", utc("2026-12-06T20:00"))]),
            utc("2026-12-06T22:59:30"),
        ),
        None,
        {**ASTANA_ONLY, "open_meteo": {"interval": 60}},
    ),
    Case(
        "interval-60-primary-every-minute",
        planned(OM, held(OM_2245, status=[asked(OM, utc("2026-12-06T22:59"))]), utc("2026-12-06T22:59:30")),
        ("today", "2026-12-07", utc("2026-12-06T23:00")),
        {**ASTANA_ONLY, "open_meteo": {"interval": 60}},
    ),
    # a city the primary holds nothing current for (here: Almaty) is the fallback's at once
    Case(
        "lacked-city-goes-to-the-fallback",
        planned(
            "met_no",
            held(OM_2245, status=[asked(OM, utc("2026-12-06T22:59")), asked("met_no", utc("2026-12-06T20:00"))]),
            utc("2026-12-06T22:59:30"),
        ),
        ("today", "2026-12-07", utc("2026-12-06T22:59")),
        {"open_meteo": {"interval": 60}},
    ),
    # before the primary's first run, the fallback waits for its verdict
    Case("fallback-waits-for-the-first-run", planned("met_no", held(), utc("2026-12-06T22:00")), None),
]

GAPS = [
    *(
        Case(f"gap-{n}", lambda p, n=n: p.gap("nbk", n, None).total_seconds(), want)  # type: ignore[misc]
        for n, want in [(1, 30), (2, 60), (3, 120), (4, 240), (5, 480), (6, 600), (7, 600), (40, 600)]
    ),
    Case(
        "gap-never-past-the-interval",
        lambda p: p.gap(OM, 5, None).total_seconds(),
        60,
        {"open_meteo": {"interval": 60}},
    ),
    Case("gap-retry-after-longer", lambda p: p.gap("nbk", 2, 3600).total_seconds(), 3600),
    Case("gap-retry-after-shorter", lambda p: p.gap("nbk", 3, 10).total_seconds(), 120),
]


# --- what an answer keeps --------------------------------------------------------------------------------


def kept(source: str, records: list[Record], holdings: Held, now: datetime) -> Callable[[Policy], object]:
    return lambda policy: policy.keep(source, records, holdings.held(source), now)


OM_2230 = Temperature(city="astana", temperature=-2.0, observed_at=utc("2026-12-06T22:30"), cadence=900)
USD_0401 = Rate(currency="USD", rate=478.0, date=date(2026, 4, 1))
KEEPS = [
    Case("older-observation-not-kept", kept(OM, [OM_2230], held(OM_2245), utc("2026-12-06T22:50")), []),
    Case(
        "same-observation-confirmed",
        kept(OM, [OM_2245.record], held(OM_2245), utc("2026-12-06T22:50")),
        [OM_2245.record],
    ),
    Case(
        "same-stale-observation-not-restamped", kept(OM, [OM_2245.record], held(OM_2245), utc("2026-12-06T23:40")), []
    ),
    Case("new-observation-kept", kept(OM, [OM_2245.record], held(), utc("2026-12-06T23:40")), [OM_2245.record]),
    Case(
        "tomorrow-kept-day-after-not",
        kept(
            "nbk",
            [
                USD_0401,
                Rate(currency="USD", rate=479.0, date=date(2026, 4, 2)),
                Rate(currency="USD", rate=480.0, date=date(2026, 4, 3)),
            ],
            held(),
            T0,
        ),
        [USD_0401, Rate(currency="USD", rate=479.0, date=date(2026, 4, 2))],
    ),
]


@pytest.mark.parametrize("case", CURRENT + PICKS + INSTANTS + PLANS + GAPS + KEEPS, ids=lambda case: case.name)
def test_the_policy_decides(case: Case) -> None:
    assert case.ask(Policy(settings(**case.config))) == case.expect


# --- what the store keeps, and what caches are told -------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "dropped"),
    [("2026-04-04", False), ("2026-04-01", False), ("2026-03-31", True), ("2026-04-05", False)],
)
def test_rates_are_kept_three_days_back(day: str, dropped: bool) -> None:
    """The last known rate stays shown for three days of an outage ("–" only after that)."""
    entry = rate("nbk", "USD", 478.0, day, T0)
    assert (expired({key_of(entry.record): entry}, date(2026, 4, 4)) != []) is dropped


def test_a_stale_item_never_caps_how_long_caches_keep_the_strip() -> None:
    """max-age follows the earliest instant a value shown as current turns stale; a stale item has nothing left to
    expire, so during an outage caches are not told to revalidate on every request."""
    now = astana("2026-04-01 15:00")
    holdings = held(
        rate("nbk", "USD", 478.0, "2026-04-01", T0),
        reading(OM, "astana", 1.0, utc("2026-04-01T08:00"), cadence=900),  # stale since 09:45Z (14:45 Astana)
        reading(OM, "almaty", 2.0, utc("2026-04-01T09:45"), cadence=900),  # current until 10:30Z
    )
    config = settings(currencies=["USD"])
    built = StripBuilder(config, Policy(config)).build(holdings, Query(("USD",), ("astana", "almaty"), "en"), now)
    assert [w.stale for w in built.weather] == [True, False]
    assert built.expires_at == utc("2026-04-01T10:30")
    only_stale = StripBuilder(config, Policy(config)).build(holdings, Query(("USD",), ("astana",), "en"), now)
    assert only_stale.expires_at == astana("2026-04-02 00:00")  # the rate's midnight, not the stale 09:45Z
