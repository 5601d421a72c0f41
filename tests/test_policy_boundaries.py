"""The freshness policy at its boundaries, in the table form of tests/test_policy.py: a source asked at the very
instant the need for it arose, a primary whose rate was already fetched after midnight, and what /readyz says
when a source holds only tomorrow's rate.

README ("Time"): today's value is asked at once when it is needed and has not been asked since the need arose,
otherwise every INTERVAL at most; tomorrow's rates held before midnight are confirmed once a minute after it;
a rate dated after today is not current and /readyz says which date it had.
"""

from __future__ import annotations

from datetime import date

import pytest

from providers.base import Rate
from tests.test_policy import ASTANA_ONLY, Case, asked, astana, held, planned, rate, reading, settings, utc
from ticker.policy import Policy
from ticker.state import SourceStatus

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
    # confirmation run; the next is INTERVAL (4 h) after the last run for today, 22:00 -> 02:00
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
        ("today", "2026-04-02", astana("2026-04-02 02:00")),
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
