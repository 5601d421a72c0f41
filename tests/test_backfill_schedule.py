"""When the history backfill's daily pass runs: 01:00 Astana, once a day. A pass that runs at 01:00 sharp plans the
next one for tomorrow's 01:00, never for the same instant again; between Astana midnight and 01:00 (still the
previous day in UTC) the next pass is that same night's.

README ("History"): the backfill runs at start and daily at 01:00 Astana.
"""

from __future__ import annotations

import pytest

from tests.test_policy import astana
from ticker.store.history import next_pass


@pytest.mark.parametrize(
    ("now", "expect"),
    [
        ("2026-04-01 00:59:59", "2026-04-01 01:00"),
        ("2026-04-01 01:00", "2026-04-02 01:00"),  # the pass of 01:00 sharp: the next is tomorrow's
        ("2026-04-01 01:00:01", "2026-04-02 01:00"),
        ("2026-04-01 15:15", "2026-04-02 01:00"),
        ("2026-04-01 23:59:59", "2026-04-02 01:00"),
        ("2026-04-02 00:30", "2026-04-02 01:00"),  # 19:30Z on 1 April: Astana's night of the 2nd
        ("2026-12-31 12:00", "2027-01-01 01:00"),
    ],
)
def test_the_daily_pass_is_at_one_in_astana_once_a_day(now: str, expect: str) -> None:
    assert next_pass(astana(now)) == astana(expect)
