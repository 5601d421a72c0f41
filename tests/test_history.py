"""GET /v1/rates/history against an app whose history the backfill filled from the fake NBK over real HTTP.

The clock is 2026-04-01T10:15Z (15:15 Astana, today 2026-04-01): the backfill holds the 30 days before today,
the strip's own fetch holds today.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import AppFactory, FakeClock, SettingsFactory, Upstreams
from tests.test_backfill import documents, start
from ticker.store.history import Day
from ticker.web.appkeys import BACKFILL, CACHE_POLICY, REFRESHER, STORE

Client = TestClient[Any, Any]
PATH = "/v1/rates/history"
IMMUTABLE = "public, max-age=86400, immutable"


@pytest.fixture
async def client(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> Client:
    upstream.fake.nbk_days = documents(30)
    app, _ = await start(start_app, make_settings, clock)
    await app.app[BACKFILL].run_pass()
    assert await app.app[REFRESHER].run("nbk") == "ok"  # today's, from the strip
    return app


async def test_json_defaults_to_the_thirty_days_before_today_in_astana_ascending(client: Client) -> None:
    resp = await client.get(PATH, params={"currency": "USD"})
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    body = await resp.json()
    assert body["currency"] == "USD" and body["source"] == "nbk"
    dates = [point["date"] for point in body["rates"]]
    assert dates[0] == "2026-03-02" and dates[-1] == "2026-04-01" and len(dates) == 31
    assert dates == sorted(dates)
    assert body["rates"][-2] == {"date": "2026-03-31", "rate": 451.01, "change": 0.01}
    assert body["rates"][-1] == {"date": "2026-04-01", "rate": 450.0, "change": 0.0}  # today, from the strip
    # a range that includes today follows the strip's rates max-age
    assert resp.headers["Cache-Control"] == client.app[CACHE_POLICY]["rates"].header()
    assert resp.headers["Cache-Control"].startswith("public, max-age=900,")
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "Accept" in resp.headers["Vary"]


async def test_per_one_unit_and_lower_case_currency(client: Client) -> None:
    body = await (await client.get(PATH, params={"currency": "rub", "from": "2026-03-31", "to": "2026-03-31"})).json()
    assert body == {"currency": "RUB", "source": "nbk", "rates": [{"date": "2026-03-31", "rate": 5.15, "change": 0.0}]}


async def test_a_complete_past_range_is_immutable_and_a_gap_is_not_filled_in(client: Client) -> None:
    resp = await client.get(PATH, params={"currency": "EUR", "from": "2026-03-10", "to": "2026-03-20"})
    assert resp.headers["Cache-Control"] == IMMUTABLE
    assert [p["date"] for p in (await resp.json())["rates"]] == [f"2026-03-{d:02d}" for d in range(10, 21)]

    resp = await client.get(PATH, params={"currency": "EUR", "from": "2026-02-20", "to": "2026-03-03"})
    body = await resp.json()
    assert [p["date"] for p in body["rates"]] == ["2026-03-02", "2026-03-03"]  # nothing before the backfill's window
    assert resp.headers["Cache-Control"] == client.app[CACHE_POLICY]["rates"].header()  # the backfill may fill it


async def test_csv_by_format_or_accept(client: Client) -> None:
    params = {"currency": "KRW", "from": "2026-03-30", "to": "2026-03-31"}
    expected = "date,currency,rate,change\r\n2026-03-30,KRW,0.3129,-0.0047\r\n2026-03-31,KRW,0.3129,-0.0047\r\n"
    by_format = await client.get(PATH, params={**params, "format": "csv"})
    by_accept = await client.get(PATH, params=params, headers={"Accept": "text/csv"})
    for resp in (by_format, by_accept):
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/csv; charset=utf-8")
        assert await resp.text() == expected
    assert by_format.headers["ETag"] == by_accept.headers["ETag"]
    json_wins = await client.get(PATH, params={**params, "format": "json"}, headers={"Accept": "text/csv"})
    assert json_wins.headers["Content-Type"].startswith("application/json")
    browser = await client.get(PATH, params=params, headers={"Accept": "text/html,*/*;q=0.8"})
    assert browser.headers["Content-Type"].startswith("application/json")


async def test_etag_304_head_and_a_change_of_todays_rate_changes_the_etag(
    client: Client, upstream: Upstreams, clock: FakeClock
) -> None:
    params = {"currency": "USD"}
    first = await client.get(PATH, params=params, headers={"Accept-Encoding": "gzip"})
    assert first.headers["Content-Encoding"] == "gzip"
    tag = first.headers["ETag"]
    again = await client.get(PATH, params=params, headers={"If-None-Match": tag, "Accept-Encoding": "gzip"})
    assert again.status == 304 and again.headers["ETag"] == tag
    assert again.headers["Cache-Control"] == first.headers["Cache-Control"]
    plain = await client.get(PATH, params=params, headers={"Accept-Encoding": "identity"})
    assert plain.headers["ETag"] != tag and "Content-Encoding" not in plain.headers
    assert (await client.get(PATH, params=params, headers={"If-None-Match": plain.headers["ETag"]})).status == 304
    head = await client.head(PATH, params=params, headers={"Accept-Encoding": "identity"})
    assert head.status == 200 and head.headers["ETag"] == plain.headers["ETag"] and await head.read() == b""
    preflight = await client.options(PATH, headers={"Origin": "https://a.kz", "Access-Control-Request-Method": "GET"})
    assert preflight.status == 204

    upstream.fake.nbk_days[date(2026, 4, 1)] = {**upstream.fake.nbk_days[date(2026, 4, 1)], "USD": ("452", 1, "", "0")}
    clock.advance(60)  # another run (a run is claimed by its instant)
    assert await client.app[REFRESHER].run("nbk") == "ok"  # today's rate may still change; past days may not
    changed = await client.get(PATH, params=params, headers={"If-None-Match": plain.headers["ETag"]})
    assert changed.status == 200 and (await changed.json())["rates"][-1]["rate"] == 452.0


@pytest.mark.parametrize(
    ("params", "parameter", "allowed"),
    [
        ({}, "currency", ["USD", "EUR", "RUB", "KRW"]),
        ({"currency": "GBP"}, "currency", ["USD", "EUR", "RUB", "KRW"]),
        ({"currency": "USD", "from": "2026-03-20", "to": "2026-03-10"}, "from", ["a date up to 2026-03-10"]),
        ({"currency": "USD", "from": "2025-03-31"}, "from", ["366 days"]),  # 367 days with today
        ({"currency": "USD", "from": "2026-4-1"}, "from", ["YYYY-MM-DD"]),
        ({"currency": "USD", "to": "2026-02-30"}, "to", ["YYYY-MM-DD"]),
        ({"currency": "USD", "to": "yesterday"}, "to", ["YYYY-MM-DD"]),
        ({"currency": "USD", "to": "0001-01-05"}, "to", ["YYYY-MM-DD"]),  # no 30 days before it
        ({"currency": "USD", "format": "xml"}, "format", ["json", "csv"]),
        ({"currency": "USD", "currencies": "EUR"}, "currencies", ["currency", "from", "to", "format"]),
        ([("currency", "USD"), ("currency", "EUR")], "currency", ["USD", "EUR", "RUB", "KRW"]),
        ([("currency", "USD"), ("to", "2026-03-01"), ("to", "2026-03-02")], "to", ["YYYY-MM-DD"]),
    ],
)
async def test_bad_parameters_are_a_json_400_naming_the_parameter(
    client: Client, params: Any, parameter: str, allowed: list[str]
) -> None:
    resp = await client.get(PATH, params=params)
    assert resp.status == 400
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    assert resp.headers["Cache-Control"] == "no-store"
    body = await resp.json()
    assert (body["parameter"], body["allowed"], body["status"]) == (parameter, allowed, 400)
    assert body["error"]


async def test_366_days_is_the_most_and_all_of_them_are_served(client: Client) -> None:
    resp = await client.get(PATH, params={"currency": "USD", "from": "2025-04-01", "to": "2026-04-01"})
    assert resp.status == 200
    assert len((await resp.json())["rates"]) == 31  # only the dates held: the backfill's 30 and today


@pytest.mark.parametrize(("start", "end"), [("9999-12-31", "9999-12-31"), ("0001-01-01", "0001-01-01")])
async def test_the_ends_of_the_calendar_are_an_empty_answer(client: Client, start: str, end: str) -> None:
    resp = await client.get(PATH, params={"currency": "USD", "from": start, "to": end})
    assert resp.status == 200 and (await resp.json())["rates"] == []


async def test_history_off_is_a_json_404(start_app: AppFactory, make_settings: SettingsFactory) -> None:
    client = await start_app(make_settings())  # the tests' default: TICKER_HISTORY__DAYS=0
    resp = await client.get(PATH, params={"currency": "USD"})
    assert resp.status == 404 and "history is off" in (await resp.json())["error"]


async def test_an_api_replica_serves_what_the_fetcher_backfilled(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock, redis_url: str
) -> None:
    upstream.fake.nbk_days = documents(10)
    fetcher, _ = await start(start_app, make_settings, clock, redis_url=redis_url, history={"days": 10})
    api, _ = await start(start_app, make_settings, clock, redis_url=redis_url, history={"days": 10}, role="api")
    assert BACKFILL not in api.app  # an api replica never asks upstreams
    await fetcher.app[BACKFILL].run_pass()
    store = api.app[STORE]
    async with asyncio.timeout(10):
        while len(store.history.get("USD", {})) < 10:
            await store.history_changed.wait()
    params = {"currency": "USD", "from": "2026-03-22", "to": "2026-03-31", "format": "csv"}
    served = [await (await replica.get(PATH, params=params)).text() for replica in (fetcher, api)]
    assert served[0] == served[1] and served[0].count("\r\n") == 11


def test_the_spec_documents_json_csv_and_the_400() -> None:
    from ticker.web.openapi import spec

    route = spec()["paths"][PATH]["get"]
    assert set(route["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    assert route["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/History"
    }
    assert {"304", "400", "404"} <= set(route["responses"])
    assert [p["name"] for p in route["parameters"]] == ["currency", "from", "to", "format"]
    assert set(spec()["components"]["schemas"]["HistoryPoint"]["properties"]) == {"date", "rate", "change"}


# --- what a reader sees at the edges (issue 23): Astana's today, an empty change, `*`, an Accept tie -----------


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 4, 1, 19, 0, tzinfo=UTC),  # 00:00 Astana on 2 April, still 1 April in UTC
        datetime(2026, 4, 1, 21, 30, tzinfo=UTC),  # 02:30 Astana
        datetime(2026, 4, 1, 23, 59, 59, tzinfo=UTC),  # 04:59:59 Astana
    ],
)
async def test_to_defaults_to_today_in_astana_between_midnight_and_five(
    client: Client, clock: FakeClock, now: datetime
) -> None:
    """README: "`to` defaults to today in Astana, `from` to 30 days before `to`"; from Astana midnight to 05:00 the
    UTC date is still yesterday, and today's rate must be in the default range."""
    clock.now = now
    today = date(2026, 4, 2)
    await client.app[STORE].put_history({"USD": {today: Day(rate=452.5, change=2.5)}}, today)
    rates = (await (await client.get(PATH, params={"currency": "USD"})).json())["rates"]
    assert rates[-1] == {"date": "2026-04-02", "rate": 452.5, "change": 2.5}
    assert rates[0]["date"] == "2026-03-03"  # 30 days before Astana's today


async def test_csv_change_is_an_empty_field_where_nbk_gave_none(client: Client) -> None:
    """README: CSV lines `date,currency,rate,change`, "`change` empty when NBK gave none" (never ``None``)."""
    day = date(2026, 2, 1)  # before the backfill's window: not held yet
    await client.app[STORE].put_history({"EUR": {day: Day(rate=500.5, change=None)}}, date(2026, 4, 1))
    params = {"currency": "EUR", "from": "2026-02-01", "to": "2026-02-01", "format": "csv"}
    assert (
        await (await client.get(PATH, params=params)).text() == "date,currency,rate,change\r\n2026-02-01,EUR,500.5,\r\n"
    )
    point = (await (await client.get(PATH, params={**params, "format": "json"})).json())["rates"]
    assert point == [{"date": "2026-02-01", "rate": 500.5, "change": None}]


@pytest.mark.parametrize(
    ("accept", "csv"),
    [
        ("text/csv, application/json", False),  # equal q: JSON
        ("application/json, text/csv", False),
        ("text/csv;q=0.5, application/json;q=0.5", False),
        ("text/csv, application/json;q=0.9", True),  # CSV only when preferred
        ("application/json;q=0.1, text/csv;q=0.2", True),
    ],
)
async def test_csv_only_when_accept_prefers_it_at_equal_q_json(client: Client, accept: str, csv: bool) -> None:
    """README and OpenAPI: `Accept` answers CSV when it prefers text/csv (a higher q than application/json); at
    equal q, JSON."""
    resp = await client.get(PATH, params={"currency": "USD"}, headers={"Accept": accept})
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/csv" if csv else "application/json")


async def test_if_none_match_star_is_a_304(client: Client) -> None:
    """README: `If-None-Match` gets 304; `*` matches any current representation (RFC 9110 13.1.2)."""
    resp = await client.get(PATH, params={"currency": "USD"}, headers={"If-None-Match": "*"})
    assert resp.status == 304 and await resp.read() == b""
