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
import weakref

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from ticker.appkeys import CLOSING, CORS, METRICS, SETTINGS, SNAPSHOT
from ticker.query import parse_query
from ticker.snapshot import Rendered, Snapshot
from ticker.views import error_response

RETRY_MS = 5000
RETRY_AFTER = 30  # seconds a refused subscriber is asked to wait
_PREAMBLE = f"retry: {RETRY_MS}\n\n".encode()
_KEEP_ALIVE = b": keep-alive\n\n"
_CLOSE = b'event: close\ndata: {"reason":"server shutting down"}\n\n'
_BASE_HEADERS = (
    ("Content-Type", "text/event-stream; charset=utf-8"),
    ("Cache-Control", "no-cache, no-store"),
    ("X-Accel-Buffering", "no"),
)


def event(tag: str, body: bytes) -> bytes:
    return b"id: " + tag.encode() + b"\nevent: ticker\ndata: " + body + b"\n\n"


class _Shared:
    """What every stream of one process shares: header sets per origin, the last rendering's event."""

    def __init__(self) -> None:
        self.headers: dict[str | None, CIMultiDictProxy[str]] = {}
        self.rendered: Rendered | None = None
        self.event = b""

    def event_of(self, rendered: Rendered) -> bytes:
        if rendered is not self.rendered:  # renderings are cached per change: the same object for all
            self.rendered, self.event = rendered, event(rendered.tag, rendered.body)
        return self.event


_shared: weakref.WeakKeyDictionary[Snapshot, _Shared] = weakref.WeakKeyDictionary()  # one per app


def _state(snapshot: Snapshot) -> _Shared:
    state = _shared.get(snapshot)
    if state is None:
        state = _shared[snapshot] = _Shared()
    return state


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
    shared = _state(snapshot)
    origin = request.headers.get("Origin")
    headers = shared.headers.get(origin)
    if headers is None:
        cors = app[CORS].headers(origin)
        headers = CIMultiDictProxy(CIMultiDict([*_BASE_HEADERS, *cors.items()]))
        if len(shared.headers) < 64:  # origins are few (the allowed ones, or none under "*")
            shared.headers[origin] = headers
    closing = app[CLOSING]
    response = web.StreamResponse(headers=headers)
    metrics.streams += 1  # counted before the first await: a storm cannot overshoot the cap
    try:
        await response.prepare(request)
        heartbeat = settings.sse_heartbeat
        last = request.headers.get("Last-Event-ID", "")
        loop = asyncio.get_running_loop()
        pending = _PREAMBLE
        written = loop.time()
        while not closing.is_set():
            changed = snapshot.changed  # taken before rendering: a change from here on sets it
            rendered = snapshot.render("ticker", query)
            if rendered.tag != last:
                data = shared.event_of(rendered) if query is None else event(rendered.tag, rendered.body)
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
        await response.write(_CLOSE)
    except (ConnectionResetError, ConnectionError):
        pass  # the reader left
    finally:
        metrics.streams -= 1
    return response
