"""The embedding routes with no value of a kind at all, to the letter of the README: `503` (JSON error with
`"status": 503`), `Cache-Control: no-store`, `Retry-After: 30`, so that a cache in front keeps its last good copy
and comes back in half a minute.
"""

from __future__ import annotations

import pytest

from tests.conftest import AppFactory, SettingsFactory, Upstreams
from ticker.web.appkeys import REFRESHER


@pytest.mark.parametrize("route", ["/v1/ticker.txt", "/v1/ticker.html"])
async def test_no_value_at_all_is_a_503_to_come_back_in_30_seconds(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, route: str
) -> None:
    for source in ("nbk", "cbr", "open_meteo", "met_no"):
        upstream.fake.fault[source] = "503"
    client = await start_app(make_settings())
    for source in ("nbk", "cbr", "open_meteo", "met_no"):
        await client.app[REFRESHER].run(source)
    resp = await client.get(route)
    assert resp.status == 503
    assert (resp.headers["Cache-Control"], resp.headers["Retry-After"]) == ("no-store", "30")
    assert (await resp.json())["status"] == 503
