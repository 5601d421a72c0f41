"""GET /v1/stream: the strip pushed as Server-Sent Events.

The current strip at once (unless ``Last-Event-ID`` says the client has it), then an event on every
change, a comment line as heartbeat, and a final ``close`` event when the server shuts down. Event ids
are the body's hash, the same on every replica, so a client may reconnect anywhere.

At most ``sse_max_clients`` streams per process: past it a new subscriber gets 503 with ``Retry-After``
(the widget then polls /v1/ticker). Per connection as little as possible is done: the header set is built
once per origin, the ``retry:`` line and the first event go out in one write, and each rendering's event
bytes are built once and shared by every stream that sends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable

from aiohttp import HttpVersion11, web
from multidict import CIMultiDict, CIMultiDictProxy

from ticker.render.query import Query, parse_query
from ticker.render.snapshot import Snapshot
from ticker.web.appkeys import CLOSING, CORS, METRICS, SETTINGS, SNAPSHOT, STREAM_HUB
from ticker.web.fanout import Hub, Sub, event
from ticker.web.views import error_response

RETRY_MS = 5000
RETRY_AFTER = 30  # seconds a refused subscriber is asked to wait
_PREAMBLE = f"retry: {RETRY_MS}\n\n".encode()
_KEEP_ALIVE = b": keep-alive\n\n"
_CLOSE = b'event: close\ndata: {"reason":"server shutting down"}\n\n'
RECONNECT_SPREAD = 6  # a closing server's subscribers come back over RETRY_MS .. 6 x RETRY_MS (5-30 s)
_BASE_HEADERS = (
    ("Content-Type", "text/event-stream; charset=utf-8"),
    ("Cache-Control", "no-cache, no-store"),
    ("X-Accel-Buffering", "no"),
)


def close_event(draw: Callable[[], float] = random.random) -> bytes:
    """The last event, with a ``retry:`` drawn per subscriber: after a restart or a pool reload every browser
    would otherwise reconnect in the same second (EventSource waits the last ``retry:`` it was sent)."""
    return b"retry: %d\n" % int(RETRY_MS * (1 + (RECONNECT_SPREAD - 1) * draw())) + _CLOSE


async def stream(request: web.Request) -> web.StreamResponse:
    app = request.app
    snapshot = app[SNAPSHOT]
    params = request.rel_url.query
    query = parse_query(params, snapshot.default) if params else None  # 400 before the stream starts
    metrics = app[METRICS]
    settings = app[SETTINGS]
    if metrics.streams >= settings.sse_max_clients:
        message = f"too many streams on this server ({settings.sse_max_clients}); poll /v1/ticker instead"
        return error_response(request, 503, message, headers={"Retry-After": str(RETRY_AFTER)})
    closing = app[CLOSING]
    hub = app[STREAM_HUB]
    origin = request.headers.get("Origin")
    headers = hub.headers.get(origin)
    if headers is None:
        cors = app[CORS].headers(origin)
        headers = CIMultiDictProxy(CIMultiDict([*_BASE_HEADERS, *cors.items()]))
        if len(hub.headers) < 64:  # origins are few (the allowed ones, or none under "*")
            hub.headers[origin] = headers
    response = web.StreamResponse(headers=headers)
    metrics.streams += 1  # counted before the first await: a storm cannot overshoot the cap
    try:
        await response.prepare(request)
        heartbeat = settings.sse_heartbeat
        last = request.headers.get("Last-Event-ID", "")
        if query is None and request.transport is not None and not closing.is_set():
            await _plain(request, response, hub, last, heartbeat)
        else:
            await _with_query(response, snapshot, query, closing, last, heartbeat)
        await response.write(close_event())
    except (ConnectionResetError, ConnectionError):
        pass  # the reader left
    finally:
        metrics.streams -= 1
    return response


async def _plain(request: web.Request, response: web.StreamResponse, hub: Hub, last: str, heartbeat: float) -> None:
    """A stream without a query: the first event here, every change by the hub, heartbeats here."""
    loop, closing = asyncio.get_running_loop(), hub.closing
    rendered = hub.snapshot.render("ticker")
    await response.write(_PREAMBLE + hub.event_of(rendered) if rendered.tag != last else _PREAMBLE)
    transport = request.transport
    assert transport is not None
    sub = Sub(transport, request.version >= HttpVersion11, rendered.tag, loop.time())
    hub.add(sub)
    if hub.snapshot.render("ticker").tag != sub.last:  # changed during the first write: the hub's
        sub.wake.set()  # pass for it went by without this stream, so its task sends it
    try:
        while not closing.is_set():
            quiet = sub.written + heartbeat - loop.time()
            if quiet > 0 and not sub.wake.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(sub.wake.wait(), quiet)
                continue
            if sub.wake.is_set():  # the hub left this one to us: a slow or lost reader, or shutdown
                sub.wake.clear()
                if closing.is_set():
                    break
                rendered = hub.snapshot.render("ticker")
                if rendered.tag != sub.last:
                    await response.write(hub.event_of(rendered))
                    sub.last, sub.written = rendered.tag, loop.time()
                    continue
            await response.write(_KEEP_ALIVE)
            sub.written = loop.time()
    finally:
        hub.subs.discard(sub)


async def _with_query(
    response: web.StreamResponse,
    snapshot: Snapshot,
    query: Query | None,
    closing: asyncio.Event,
    last: str,
    heartbeat: float,
) -> None:
    """A stream with its own query: its own task renders and writes each change."""
    loop = asyncio.get_running_loop()
    pending = _PREAMBLE
    written = loop.time()
    while not closing.is_set():
        changed = snapshot.changed  # taken before rendering: a change from here on sets it
        rendered = snapshot.render("ticker", query)
        if rendered.tag != last:
            data = event(rendered.tag, rendered.body)
            await response.write(pending + data if pending else data)
            pending = b""
            last, written = rendered.tag, loop.time()
        if pending:
            await response.write(pending)
            pending = b""
        if changed.is_set():
            continue  # it changed while we were writing: look again before waiting
        quiet = written + heartbeat - loop.time()  # refreshes that change nothing don't reset it
        try:
            await asyncio.wait_for(changed.wait(), max(quiet, 0))
        except TimeoutError:
            await response.write(_KEEP_ALIVE)
            written = loop.time()
