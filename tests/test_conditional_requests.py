"""Conditional requests on every cacheable route: `If-None-Match: *` matches whatever is current (RFC 9110 13.1.2),
so a cache or a poller that holds any version gets `304` with no body, on the strip's routes and on history.

README ("For pollers, embedders and proxies"): `If-None-Match` / `If-Modified-Since` get `304` with no body;
history has "`ETag` and `304` ... as on the strip".
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.test_history import client as history_client  # noqa: F401 - the fixture
from ticker.web.appkeys import REFRESHER

Client = TestClient[Any, Any]
ROUTES = [
    "/v1/ticker",
    "/v1/rates",
    "/v1/weather",
    "/v1/ticker.txt",
    "/v1/ticker.html",
    "/v1/rates/history?currency=USD",
]


@pytest.fixture
async def client(history_client: Client) -> Client:  # noqa: F811 - the imported fixture, extended
    """History's (30 days backfilled, today's rates from the strip), with the temperatures as well."""
    assert await history_client.app[REFRESHER].run("open_meteo") == "ok"
    return history_client


@pytest.mark.parametrize("route", ROUTES)
async def test_if_none_match_star_is_not_modified(client: Client, route: str) -> None:
    plain = await client.get(route)
    assert plain.status == 200
    for header in ("*", " * ", '"other", *'):
        star = await client.get(route, headers={"If-None-Match": header})
        assert star.status == 304, header
        assert await star.read() == b""
        assert star.headers["ETag"] == plain.headers["ETag"]
    assert (await client.get(route, headers={"If-None-Match": '"other"'})).status == 200


async def test_if_modified_since_without_a_last_modified_is_answered_in_full(client: Client) -> None:
    # history has an ETag and no Last-Modified: a date can never prove it unchanged
    route = "/v1/rates/history?currency=USD"
    assert "Last-Modified" not in (await client.get(route)).headers
    resp = await client.get(route, headers={"If-Modified-Since": "Wed, 01 Apr 2026 10:15:00 GMT"})
    assert resp.status == 200
    assert (await resp.json())["currency"] == "USD"
