"""The freshness policy at its boundaries, in the table form of tests/test_policy.py: a source asked at the very
instant the need for it arose, a primary whose rate was already fetched after midnight, and what /readyz says
when a source holds only tomorrow's rate.

README ("Time"): today's value is asked at once when it is needed and has not been asked since the need arose,
otherwise every INTERVAL at most; tomorrow's rates held before midnight are confirmed once a minute after it;
a rate dated after today is not current and /readyz says which date it had.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

import pytest

from providers.base import Rate
from tests.test_policy import ASTANA_ONLY, Case, asked, astana, held, planned, rate, reading, settings, utc
from ticker.policy import Policy
from ticker.state import Held, SourceStatus

OM, MET = "open_meteo", "met_no"
# Open-Meteo's reading of 22:00Z turns stale at 22:45Z (900 s slot + 1800 s grace); Open-Meteo was last asked at
# 22:40Z. MET Norway was asked at 22:45Z, the instant the need arose, and lacked the city.
OM_2200 = reading(OM, "astana", 1.0, utc("2026-12-06T22:00"), cadence=900)
MET_AT_THE_FLIP = SourceStatus(source=MET, last_attempt=utc("2026-12-06T22:45"), missing=["astana"])

ROWS = [
    Case(
        "fallback-asked-at-the-instant-the-need-arose-waits-its-interval",
        planned(
            MET,
            held(OM_2200, status=[asked(OM, utc("2026-12-06T22:40")), MET_AT_THE_FLIP]),
            utc("2026-12-06T22:46"),
        ),
        ("today", "2026-12-07", utc("2026-12-06T23:15")),  # 22:45 + MET's INTERVAL (1800 s), not 22:45 again
        ASTANA_ONLY,
    ),
    Case(
        "fallback-asked-before-the-need-arose-is-asked-at-once",
        planned(
            MET,
            held(
                OM_2200,
                status=[
                    asked(OM, utc("2026-12-06T22:40")),
                    SourceStatus(source=MET, last_attempt=utc("2026-12-06T22:44:59"), missing=["astana"]),
                ],
            ),
            utc("2026-12-06T22:46"),
        ),
        ("today", "2026-12-07", utc("2026-12-06T22:45")),
        ASTANA_ONLY,
    ),
    # today's rate was fetched after midnight already (a poll for the next day's brought today's document): no
    # confirmation run; the next is INTERVAL (4 h) after that fetch, which confirmed today's rate: 00:10 -> 04:10
    # (its status would say so too; a replica that has the entry before the status plans the same)
    Case(
        "fetched-after-midnight-needs-no-confirmation",
        planned(
            "nbk",
            held(
                rate("nbk", "USD", 480.0, "2026-04-02", astana("2026-04-02 00:10")),
                status=[
                    SourceStatus(
                        source="nbk", last_attempt=astana("2026-04-01 22:00"), next_attempt=astana("2026-04-02 00:10")
                    )
                ],
            ),
            astana("2026-04-02 00:20"),
        ),
        ("today", "2026-04-02", astana("2026-04-02 04:10")),
        {"currencies": ["USD"]},
    ),
]


@pytest.mark.parametrize("case", ROWS, ids=lambda case: case.name)
def test_the_policy_decides_at_its_boundaries(case: Case) -> None:
    assert case.ask(Policy(settings(**case.config))) == case.expect


def test_readyz_names_the_date_of_a_rate_held_only_for_tomorrow() -> None:
    policy = Policy(settings(currencies=["USD"]))
    tomorrows = Rate(currency="USD", rate=480.0, date=date(2026, 4, 2))
    reason = policy.why_not_current("nbk", [tomorrows], astana("2026-04-01 17:00"))
    assert "2026-04-01" in reason and "2026-04-02" in reason  # today, and the date it had


# --- tomorrow's rates: from the publication time, on the README's schedule ----------------------------------------
# README: "from 15:45 the service asks for tomorrow every 5 minutes for half an hour, every 10 minutes for the next
# half hour, then 75, 105, 165 ... minutes after"; "CBR the same way from 17:45 Astana (15:30 Moscow)".
POLLS_SAID = [0, 5, 10, 15, 20, 25, 30, 40, 50, 60, 75, 105, 165]
NBK_FROM = astana("2026-04-01 15:45")
TODAY_USD = rate("nbk", "USD", 478.0, "2026-04-01", astana("2026-04-01 10:00"))


def nbk_asked_tomorrow(at: datetime | None) -> SourceStatus:
    # today's rate asked at 15:40, so today's next run (4 h later) never comes first
    return SourceStatus(source="nbk", last_attempt=astana("2026-04-01 15:40"), next_attempt=at)


def due_now(source: str, holdings: Held, now: datetime) -> object:
    """(purpose, date, due) of the run the refresher starts at ``now`` (it starts a run once its due has come)."""
    run = Policy(settings(currencies=["USD"])).plan(source, holdings, now)
    return None if run is None or run.due > now else (run.purpose, run.day.isoformat(), run.due)


@pytest.mark.parametrize(("asked", "due"), list(itertools.pairwise([None, *POLLS_SAID])))
def test_tomorrows_nbk_rates_are_asked_on_the_published_schedule(asked: int | None, due: int) -> None:
    at = None if asked is None else NBK_FROM + timedelta(minutes=asked)
    holdings = held(TODAY_USD, status=[nbk_asked_tomorrow(at)])
    when = NBK_FROM + timedelta(minutes=due)
    assert due_now("nbk", holdings, when - timedelta(seconds=1)) is None  # not a second early
    assert due_now("nbk", holdings, when) == ("next", "2026-04-02", when)


def test_cbr_is_asked_for_tomorrows_rates_from_1745_astana() -> None:
    holdings = held(
        TODAY_USD,
        rate("cbr", "USD", 470.0, "2026-04-01", astana("2026-04-01 17:00")),
        status=[asked("nbk", astana("2026-04-01 17:00")), asked("cbr", astana("2026-04-01 17:00"))],
    )  # NBK has not published tomorrow's (it would have been kept, and CBR not asked)
    assert due_now("cbr", holdings, astana("2026-04-01 17:44:59")) is None
    assert due_now("cbr", holdings, astana("2026-04-01 17:45")) == ("next", "2026-04-02", astana("2026-04-01 17:45"))
