"""When the strip tells caches to revalidate (`no-cache`): only while an item is still EMPTY and some source of its
chain has not answered yet. An item that shows a value never does, though a fallback has never been asked (CBR
stands by while NBK answers), so a healthy strip is cached for its max-age from the first fetch on.

README ("For pollers, embedders and proxies"): an item still empty while some source of its chain has not answered
yet makes the strip `no-cache`; an item that no source has, once every source answered, does not.
"""

from __future__ import annotations

import pytest

from tests.test_policy import asked, astana, held, rate, reading, settings, utc
from ticker.policy import Policy
from ticker.render.query import Query
from ticker.render.strip import StripBuilder
from ticker.state import Held

NOW = astana("2026-04-01 15:00")
CONFIG = settings(
    currencies=["USD"], cities=[{"id": "astana", "name": "Astana", "latitude": 51.18, "longitude": 71.45}]
)
QUERY = Query(("USD",), ("astana",), "en")
USD = rate("nbk", "USD", 478.0, "2026-04-01", astana("2026-04-01 10:00"))
ASTANA = reading("open_meteo", "astana", -3.0, utc("2026-04-01T09:45"), cadence=900)
PRIMARIES_ASKED = [asked("nbk", astana("2026-04-01 10:00")), asked("open_meteo", utc("2026-04-01T09:50"))]
EVERY_SOURCE_ASKED = [*PRIMARIES_ASKED, asked("cbr", astana("2026-04-01 10:00")), asked("met_no", NOW)]


def settled(holdings: Held) -> bool:
    return StripBuilder(CONFIG, Policy(CONFIG)).build(holdings, QUERY, NOW).settled


@pytest.mark.parametrize(
    ("holdings", "expect"),
    [
        (held(USD, ASTANA, status=PRIMARIES_ASKED), True),  # values shown; CBR and MET never asked: still settled
        (held(USD, status=PRIMARIES_ASKED), False),  # the city empty while MET Norway has not answered
        (held(USD, status=EVERY_SOURCE_ASKED), True),  # the city empty, but every source answered
        (held(status=[]), False),  # before any data
    ],
    ids=["values-fallbacks-never-asked", "empty-item-fallback-not-asked", "empty-item-all-answered", "nothing-yet"],
)
def test_only_an_empty_item_with_a_source_still_to_answer_unsettles_the_strip(holdings: Held, expect: bool) -> None:
    assert settled(holdings) is expect
