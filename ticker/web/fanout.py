"""The SSE hub: what every stream of one process shares (header sets per origin, the last rendering's
event bytes) and one task that, on each change, renders once and writes the same framed bytes to every
plain stream's socket. It lives on the app (``appkeys.STREAM_HUB``), one per application."""

from __future__ import annotations

import asyncio
import logging

from multidict import CIMultiDictProxy

from ticker.render.snapshot import Rendered, Snapshot

log = logging.getLogger(__name__)


def event(tag: str, body: bytes) -> bytes:
    return b"id: " + tag.encode() + b"\nevent: ticker\ndata: " + body + b"\n\n"


WRITE_LIMIT = 64 * 1024  # a reader with more than this unsent is left to its own task (which waits for it)


def framed(data: bytes, chunked: bool) -> bytes:
    """``data`` as the response body carries it: one HTTP/1.1 chunk, as aiohttp's writer frames a write."""
    return f"{len(data):x}\r\n".encode() + data + b"\r\n" if chunked else data


class Sub:
    """One plain stream (no query) that the hub writes to directly."""

    __slots__ = ("chunked", "last", "transport", "wake", "written")

    def __init__(self, transport: asyncio.Transport, chunked: bool, last: str, written: float) -> None:
        self.transport, self.chunked, self.last, self.written = transport, chunked, last, written
        self.wake = asyncio.Event()  # its task takes over: a slow reader, a lost one, shutdown


class Hub:
    """What every stream of one process shares: header sets per origin, the last rendering's event, and
    the hub: one task that, on each change, renders once and writes the same framed bytes to every plain
    stream's socket in one pass (instead of waking 10,000 tasks, each with its own wait and write)."""

    def __init__(self, snapshot: Snapshot, closing: asyncio.Event) -> None:
        self.snapshot, self.closing = snapshot, closing
        self.headers: dict[str | None, CIMultiDictProxy[str]] = {}
        self.rendered: Rendered | None = None
        self.event = b""
        self.frames: tuple[bytes, bytes] = (b"", b"")  # (identity, chunked) of self.event
        self.subs: set[Sub] = set()
        self.task: asyncio.Task[None] | None = None

    def event_of(self, rendered: Rendered) -> bytes:
        if rendered is not self.rendered:  # renderings are cached per change: the same object for all
            self.rendered, self.event = rendered, event(rendered.tag, rendered.body)
            self.frames = (self.event, framed(self.event, True))
        return self.event

    def add(self, sub: Sub) -> None:
        self.subs.add(sub)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._fan_out(), name="sse-fan-out")

    def _write_all(self, now: float) -> None:
        rendered = self.snapshot.render("ticker")
        self.event_of(rendered)
        tag, frames = rendered.tag, self.frames
        for sub in list(self.subs):
            if sub.last == tag or sub.wake.is_set():
                continue
            transport = sub.transport
            if transport.is_closing() or transport.get_write_buffer_size() > WRITE_LIMIT:
                sub.wake.set()  # its task writes (and waits for a slow reader) or finds it gone
                continue
            transport.write(frames[sub.chunked])
            sub.last, sub.written = tag, now

    async def _fan_out(self) -> None:
        snapshot, loop = self.snapshot, asyncio.get_running_loop()
        while self.subs and not self.closing.is_set():
            changed = snapshot.changed  # taken before rendering: a change from here on sets it
            try:
                self._write_all(loop.time())
            except Exception:  # the task's boundary: each stream's own task takes this change over
                log.exception("SSE fan-out failed; the streams send this change themselves")
                for sub in self.subs:
                    sub.wake.set()
            if not changed.is_set():
                await changed.wait()
        for sub in self.subs:
            sub.wake.set()
