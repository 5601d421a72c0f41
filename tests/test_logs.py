"""Hostile clients leave one WARNING line each in the log of a real `ticker serve`, never a traceback."""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import UTC, datetime

import pytest

from tests.conftest import AppFactory, SettingsFactory, Upstreams
from tests.redis_proc import free_port
from tests.serving import serve_env, serving
from ticker.fetch.scheduler import start_scheduler, stop_scheduler
from ticker.run.logs import BadRequestFilter, LineFormatter
from ticker.web.appkeys import REFRESHER


async def _raw(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return answer


@pytest.mark.parametrize(
    ("request_bytes", "reason"),
    [
        (b"GET /v1/ticker HTTP/1.1\r\nHost: x\r\nX-Probe: a\x00b\r\n\r\n", "Invalid header value char"),
        (b"GET /v1/ticker HTTP/1.1 extra\r\nHost: x\r\n\r\n", "Bad status line"),
    ],
    ids=["nul-in-header", "bad-request-line"],
)
async def test_a_malformed_request_is_one_warning_line(
    live_upstream: Upstreams, request_bytes: bytes, reason: str
) -> None:
    port = free_port()
    async with serving(serve_env(live_upstream.url, port)) as served:
        answer = await _raw(port, request_bytes)
        assert answer.split(b"\r\n", 1)[0].endswith(b" 400 Bad Request"), answer
        assert await served.stop() == 0
    log = await served.log()
    assert "Traceback" not in log, log
    assert " ERROR " not in log, log
    warnings = [line for line in log.splitlines() if " WARNING " in line and "bad request" in line]
    assert len(warnings) == 1, log
    assert "bad request from 127.0.0.1: " in warnings[0] and "(answered 400)" in warnings[0]
    assert reason in warnings[0]


def test_the_filter_leaves_real_errors_alone() -> None:
    formatter, quiet = LineFormatter(), BadRequestFilter()
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        record = logging.getLogger("aiohttp.server").makeRecord(
            "aiohttp.server", logging.ERROR, __file__, 1, "Error handling request from %s", ("1.2.3.4",),
            sys.exc_info(),
        )  # fmt: skip
    assert quiet.filter(record)
    assert record.levelname == "ERROR"
    assert "Traceback" in formatter.format(record) and "RuntimeError: a bug" in formatter.format(record)


async def test_stopping_the_scheduler_on_a_busy_loop_logs_no_cancelled_error(
    caplog: pytest.LogCaptureFixture, start_app: AppFactory, make_settings: SettingsFactory
) -> None:
    """A tick created after the stop was asked for but before it took effect (the loop busy closing thousands of
    streams) was cancelled unstarted, and APScheduler logged "Error running job" with a CancelledError."""
    caplog.set_level(logging.DEBUG, logger="apscheduler")
    refresher = (await start_app(make_settings())).app[REFRESHER]  # the app's own, its scheduler off
    scheduler = start_scheduler(refresher)
    job = scheduler.get_job("tick")
    stopping = asyncio.create_task(stop_scheduler(scheduler))
    await asyncio.sleep(0)  # the stop has begun...
    scheduler._lookup_executor("default").submit_job(job, [datetime.now(UTC)])  # ...and a tick lands
    await stopping
    for _ in range(20):  # loop turns, not time: let whatever the stop left behind run and log
        await asyncio.sleep(0)
    assert not scheduler.running
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not errors, [r.getMessage() for r in errors]
    assert "CancelledError" not in caplog.text


async def test_a_stopped_scheduler_ticks_no_more(start_app: AppFactory, make_settings: SettingsFactory) -> None:
    refresher = (await start_app(make_settings())).app[REFRESHER]  # the app's own, its scheduler off
    scheduler = start_scheduler(refresher)
    await stop_scheduler(scheduler)
    assert not scheduler.running
    assert scheduler.get_jobs() == []  # nothing left that could tick
