"""GET /v1/stream: the strip pushed as Server-Sent Events.

The current strip at once (unless ``Last-Event-ID`` says the client has it), then an event on every
change, a comment line as heartbeat, and a final ``close`` event when the server shuts down. Event ids
are the body's hash, the same on every replica, so a client may reconnect anywhere.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from ticker.appkeys import CLOSING, CORS, METRICS, SETTINGS, SNAPSHOT
from ticker.query import parse_query

RETRY_MS = 5000


def event(tag: str, body: bytes) -> bytes:
    return b"id: " + tag.encode() + b"\nevent: ticker\ndata: " + body + b"\n\n"


async def stream(request: web.Request) -> web.StreamResponse:
    app = request.app
    snapshot = app[SNAPSHOT]
    params = request.rel_url.query
    query = parse_query(params, snapshot.default) if params else None  # 400 before the stream starts
    closing = app[CLOSING]
    headers = {
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-cache, no-store",
        "X-Accel-Buffering": "no",
        **app[CORS].headers(request.headers.get("Origin")),
    }
    response = web.StreamResponse(headers=headers)
    await response.prepare(request)
    metrics = app[METRICS]
    metrics.streams += 1
    heartbeat = app[SETTINGS].sse_heartbeat
    last = request.headers.get("Last-Event-ID", "")
    loop = asyncio.get_running_loop()
    try:
        await response.write(f"retry: {RETRY_MS}\n\n".encode())
        written = loop.time()
        while not closing.is_set():
            changed = snapshot.changed  # taken before rendering: a change from here on sets it
            rendered = snapshot.render("ticker", query)
            if rendered.tag != last:
                await response.write(event(rendered.tag, rendered.body))
                last, written = rendered.tag, loop.time()
            if changed.is_set():
                continue  # it changed while we were writing: look again before waiting
            quiet = written + heartbeat - loop.time()  # refreshes that change nothing don't reset it
            try:
                await asyncio.wait_for(changed.wait(), max(quiet, 0))
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                written = loop.time()
        await response.write(b'event: close\ndata: {"reason":"server shutting down"}\n\n')
    except (ConnectionResetError, ConnectionError):
        pass  # the reader left
    finally:
        metrics.streams -= 1
    return response
