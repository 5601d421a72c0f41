"""providers/http.py: Retry-After in both forms, an HTTP date taken against the response's own Date."""

from __future__ import annotations

import pytest

from providers.http import parse_retry_after

SENT = "Wed, 01 Apr 2026 10:15:00 GMT"


@pytest.mark.parametrize(
    ("value", "sent", "seconds"),
    [
        ("120", None, 120.0),
        (" 30 ", SENT, 30.0),
        ("Wed, 01 Apr 2026 10:17:00 GMT", SENT, 120.0),  # two minutes after the server's own Date
        ("Wed, 01 Apr 2026 10:14:00 GMT", SENT, 0.0),  # already past: ask again when the breaker allows
        ("Wed, 01 Apr 2026 10:17:00 GMT", None, None),  # no Date to measure from: our clock is not read
        ("soon", SENT, None),
        (None, SENT, None),
        ("", SENT, None),
    ],
)
def test_retry_after(value: str | None, sent: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, sent) == seconds
