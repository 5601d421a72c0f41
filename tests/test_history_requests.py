"""GET /v1/rates/history where a one-line breakage once went unnoticed: "today" between Astana midnight and 05:00
(the UTC date is still yesterday), a date NBK gave no change for, and an Accept header that names CSV and JSON
at the same q.

README ("History"): `to` defaults to today in Astana, `from` to 30 days before `to`; `format=csv`, or
`Accept: text/csv` without `format`, answers CSV with `change` empty when NBK gave none; JSON otherwise.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import AppFactory, FakeClock, SettingsFactory, Upstreams
from tests.test_backfill import documents, start
from ticker.policy import Run
from ticker.web.appkeys import BACKFILL, REFRESHER

Client = TestClient[Any, Any]
PATH = "/v1/rates/history"
TOMORROW = {  # NBK's document for 2 April
    "USD": ("449.00", 1, "DOWN", "-1.00"), "EUR": ("499.5", 1, "", "0.00"),
    "RUB": ("49.5", 10, "", "0.00"), "KRW": ("31.29", 100, "", "0.00"),
}  # fmt: skip


@pytest.fixture
async def client(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> Client:
    days = documents(30)
    days[date(2026, 3, 30)] = {**days[date(2026, 3, 30)], "USD": ("452.30", 1, "", "")}  # NBK gave no change
    upstream.fake.nbk_days = days
    app, _ = await start(start_app, make_settings, clock)  # 2026-04-01 15:15 Astana
    await app.app[BACKFILL].run_pass()
    assert await app.app[REFRESHER].run("nbk") == "ok"
    return app


async def test_between_astana_midnight_and_five_the_default_range_ends_on_astanas_today(
    client: Client, upstream: Upstreams, clock: FakeClock
) -> None:
    upstream.fake.nbk_days[date(2026, 4, 2)] = TOMORROW
    clock.now = datetime(2026, 4, 1, 19, 30, tzinfo=UTC)  # 00:30 on 2 April in Astana; still 1 April in UTC
    assert await client.app[REFRESHER].run("nbk") == "ok"  # today's (2 April) rate, recorded from the strip
    body = await (await client.get(PATH, params={"currency": "USD"})).json()
    dates = [point["date"] for point in body["rates"]]
    assert dates[-1] == "2026-04-02"  # today's rate is there
    assert dates[0] == "2026-03-03"  # 30 days before Astana's today
    assert body["rates"][-1] == {"date": "2026-04-02", "rate": 449.0, "change": -1.0}


async def test_a_date_without_change_is_an_empty_csv_field_and_a_json_null(client: Client) -> None:
    params = {"currency": "USD", "from": "2026-03-30", "to": "2026-03-31"}
    csv = await (await client.get(PATH, params={**params, "format": "csv"})).text()
    assert csv.split("\r\n")[1] == "2026-03-30,USD,452.3,"
    body = await (await client.get(PATH, params=params)).json()
    assert body["rates"][0] == {"date": "2026-03-30", "rate": 452.3, "change": None}


@pytest.mark.parametrize(
    ("accept", "csv"),
    [
        ("text/csv, application/json", False),  # the same q: JSON, the default
        ("application/json, text/csv", False),
        ("text/csv;q=0.5, application/json;q=0.5", False),
        ("text/csv, application/json;q=0.9", True),
        ("text/csv;q=0.1", True),
        ("text/csv;q=0", False),
    ],
)
async def test_csv_only_when_accept_prefers_it_over_json(client: Client, accept: str, csv: bool) -> None:
    resp = await client.get(PATH, params={"currency": "USD"}, headers={"Accept": accept})
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/csv" if csv else "application/json")


async def test_tomorrows_rate_enters_history_only_once_it_is_in_force(
    client: Client, upstream: Upstreams, clock: FakeClock
) -> None:
    upstream.fake.nbk_days[date(2026, 4, 2)] = TOMORROW
    clock.now = datetime(2026, 4, 1, 11, 30, tzinfo=UTC)  # 16:30 Astana: NBK has published tomorrow's
    assert await client.app[REFRESHER].run(Run("nbk", "next", date(2026, 4, 2), clock.now)) == "ok"
    assert (await (await client.get("/v1/ticker")).json())["rates"][0]["next"]["date"] == "2026-04-02"
    params = {"currency": "USD", "from": "2026-03-31", "to": "2026-04-02"}
    body = await (await client.get(PATH, params=params)).json()
    assert [point["date"] for point in body["rates"]] == ["2026-03-31", "2026-04-01"]  # not tomorrow's yet
