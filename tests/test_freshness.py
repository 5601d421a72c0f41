"""The freshness policy end to end: the service, the one fake upstream and the injected clock, moved by hand.

- However often we ask (TICKER_*__INTERVAL of 30 s to 900 s), a source's newest reading is current for as long
  as its own cadence allows: no fresh answer is logged as failed, and no fallback is asked or shown instead.
- A source that fails for six hours is asked again at least every 10 minutes, and its data is used within 10
  minutes of its recovery.
"""

from __future__ import annotations

import itertools
import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import AppFactory, FakeClock, SettingsFactory, Upstreams
from tests.test_time import run_due
from ticker.web.appkeys import REFRESHER

Client = TestClient[Any, Any]
SLOT = {"open_meteo": 900, "met_no": 3600}  # how often each source's reading can change (its cadence)
OTHER = {"open_meteo": "met_no", "met_no": "open_meteo"}


async def run_weather(client: Client, sources: list[str]) -> list[str]:
    """The weather runs due at this instant (the rates' own schedule is not what this walk is about)."""
    refresher, outcomes = client.app[REFRESHER], []
    for source in sources:
        run = refresher.due(source)
        if run is not None:
            outcomes.append(await refresher.run(run))
    return outcomes


def floor(instant: datetime, seconds: int) -> datetime:
    return datetime.fromtimestamp(int(instant.timestamp()) // seconds * seconds, UTC)


@pytest.mark.parametrize("primary", ["open_meteo", "met_no"])
@pytest.mark.parametrize("interval", [30, 60, 300, 900])
async def test_a_sources_newest_reading_is_current_anywhere_in_its_slot_at_any_interval(
    start_app: AppFactory,
    make_settings: SettingsFactory,
    upstream: Upstreams,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    primary: str,
    interval: int,
) -> None:
    caplog.set_level(logging.INFO, logger="ticker")
    slot = SLOT[primary]
    start = datetime(2026, 12, 6, 22, 0, tzinfo=UTC)  # a slot boundary for both (03:00 in Astana)
    clock.now = start
    sections: dict[str, Any] = {primary: {"interval": interval}}
    client = await start_app(make_settings(weather_sources=[primary, OTHER[primary]], **sections))
    # the clock anywhere in the slot: every poll, and the last seconds before the next slot, into the one after
    polls = range(0, slot + interval + 1, interval)
    offsets = sorted({*polls, 1, slot // 2, slot - 60, slot - 1, slot, slot + 1})
    for offset in offsets:
        clock.now = start + timedelta(seconds=offset)
        outcomes = await run_weather(client, [primary, OTHER[primary]])
        assert "failed" not in outcomes, (offset, outcomes)
        body = await (await client.get("/v1/weather")).json()
        newest = floor(clock.now, slot).strftime("%Y-%m-%dT%H:%M:%SZ")  # the newest the source can have now
        for item in body["weather"]:
            assert (item["source"], item["stale"], item["observed_at"]) == (primary, False, newest), (offset, item)
    assert upstream.fake.hits[OTHER[primary]] == 0  # the fallback was never needed, so never asked
    assert upstream.fake.hits[primary] >= len(polls) - 1  # asked every INTERVAL, as configured
    weather = [r.getMessage() for r in caplog.records if primary in r.getMessage() or OTHER[primary] in r.getMessage()]
    failed = [message for message in weather if "failed" in message or "no data" in message]
    assert failed == []


async def test_a_source_failing_for_six_hours_is_used_within_ten_minutes_of_its_return(
    start_app: AppFactory, make_settings: SettingsFactory, upstream: Upstreams, clock: FakeClock
) -> None:
    clock.now = datetime(2026, 4, 1, 14, 0, tzinfo=UTC)  # 19:00 Astana: NBK's rates for the day are out
    upstream.fake.nbk_date = None  # NBK (the fake) publishes a document for every date, at 16:00 the day before
    upstream.fake.nbk_published_through = date(2026, 4, 1)  # ... but today it is late with tomorrow's
    client = await start_app(
        make_settings(currencies=["USD"], breaker_cooldown=30, nbk={"interval": 14400}, cbr={"interval": 14400})
    )
    assert "ok" in await run_due(client)
    upstream.fake.fault["nbk"] = "500"
    asked_at: list[datetime] = []
    outage = clock.now + timedelta(hours=6)  # through Astana midnight: NBK's new day is not to be had
    while clock.now < outage:
        clock.advance(30)
        hits = upstream.fake.hits["nbk"]
        await run_due(client)
        if upstream.fake.hits["nbk"] > hits:
            asked_at.append(clock.now)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(asked_at)]
    # 30 s doubling, then never more than 10 minutes without asking, to the end of the outage
    assert gaps[:6] == [30, 60, 120, 240, 480, 600] and max(gaps) == 600, gaps
    assert outage - asked_at[-1] <= timedelta(minutes=10)
    usd = (await (await client.get("/v1/rates")).json())["rates"][0]
    assert (usd["source"], usd["date"]) == ("cbr", "2026-04-02")  # CBR's cross rate stands in, current

    upstream.fake.fault.pop("nbk")  # NBK answers again, with the day's document
    upstream.fake.nbk_published_through = None
    back = clock.now
    while clock.now - back <= timedelta(minutes=10):
        await run_due(client)
        usd = (await (await client.get("/v1/rates")).json())["rates"][0]
        if usd["source"] == "nbk":
            break
        clock.advance(30)
    assert (usd["source"], usd["date"], usd["stale"]) == ("nbk", "2026-04-02", False)
    assert clock.now - back <= timedelta(minutes=10)
