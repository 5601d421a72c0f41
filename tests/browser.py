"""Headless Chromium for the widget tests: a one-shot run (--dump-dom, --screenshot) under virtual time, and a
tab driven over the DevTools protocol (aiohttp's websocket client) for what a dump cannot show: shadow roots,
computed styles, layout-shift entries, clipped screenshots, emulated media. Plus the small HTML and PNG readers
the tests read Chromium's output with."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import shutil
import signal
import struct
import uuid
import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import aiohttp
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium or chromium-browser binary on PATH (apt-get install chromium)"
)
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip
TIMEOUT = 30.0  # per DevTools command or page-side wait: a hung browser fails the test, never hangs the run

# Screenshots are written under the test's tmp_path and, when this names a directory, there too. Read at import:
# the suite's autouse fixture removes every TICKER_* variable before a test runs.
ARTIFACTS = os.environ.get("TICKER_TEST_ARTIFACTS")
SAVED: list[Path] = []  # every artifact this run wrote: listed in the run's summary (tests/conftest.py)


def save_artifact(tmp_path: Path, name: str, data: bytes) -> list[Path]:
    """Write a test output file; return every path it was written to."""
    paths = [tmp_path / name]
    if ARTIFACTS:
        paths.append(Path(ARTIFACTS) / name)
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    SAVED.append(paths[-1])  # the stable copy where TICKER_TEST_ARTIFACTS is set
    return paths


# --- one-shot runs -------------------------------------------------------------------------------------
async def chromium(tmp_path: Path, *args: str, timeout: float = 45) -> str:
    assert CHROMIUM is not None
    profile = tmp_path / f"profile-{uuid.uuid4().hex}"  # a fresh profile: no cache, no state
    proc = await asyncio.create_subprocess_exec(
        CHROMIUM,
        *FLAGS,
        f"--user-data-dir={profile}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # its own process group, so a hung browser is killed whole
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        os.killpg(proc.pid, signal.SIGKILL)
        await proc.communicate()
        pytest.fail(f"chromium did not finish within {timeout:g} s: {args}")
    assert proc.returncode == 0, err.decode(errors="replace")[-3000:]
    return out.decode()


# --- the DevTools protocol -----------------------------------------------------------------------------
class DevTools:
    """One browser-level websocket; commands by id, events handed to whoever expects them (flat sessions)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.waiters: list[tuple[str, str | None, asyncio.Future[dict[str, Any]]]] = []
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            if "id" in data:
                future = self.pending.pop(data["id"], None)
                if future is not None and not future.done():
                    future.set_result(data)
                continue
            for waiter in list(self.waiters):
                method, session, future = waiter
                if data.get("method") == method and data.get("sessionId") == session:
                    self.waiters.remove(waiter)
                    if not future.done():
                        future.set_result(data.get("params", {}))
        for future in self.pending.values():
            if not future.done():
                future.set_exception(ConnectionError("the browser closed its DevTools socket"))

    async def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        ident = next(self.ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[ident] = future
        message: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        await self.ws.send_str(json.dumps(message))
        reply = await asyncio.wait_for(future, TIMEOUT)
        if "error" in reply:
            raise AssertionError(f"{method}: {reply['error']}")
        result: dict[str, Any] = reply["result"]
        return result

    def expect(self, method: str, session: str | None) -> asyncio.Future[dict[str, Any]]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiters.append((method, session, future))
        return future


@dataclass
class Tab:
    devtools: DevTools
    session: str

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        return await self.devtools.send(method, self.session, **params)

    async def goto(self, url: str) -> None:
        """Navigate and wait for the load event (the widget's script has run, its strips are mounted)."""
        loaded = self.devtools.expect("Page.loadEventFired", self.session)
        reply = await self.send("Page.navigate", url=url)
        assert "errorText" not in reply, reply
        await asyncio.wait_for(loaded, TIMEOUT)

    async def js(self, expression: str) -> Any:
        """The value of a page-side expression, a promise awaited (the page waits on its own events)."""
        reply = await self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in reply:
            details = reply["exceptionDetails"]
            raise AssertionError(details.get("exception", {}).get("description") or details.get("text"))
        return reply["result"].get("value")

    async def screenshot(self, clip: dict[str, float]) -> bytes:
        reply = await self.send("Page.captureScreenshot", format="png", clip={**clip, "scale": 1})
        return base64.b64decode(reply["data"])


async def _devtools_url(stderr: asyncio.StreamReader) -> str:
    """Chromium announces its DevTools socket on stderr once it listens (--remote-debugging-port=0)."""
    seen = []
    while line := (await stderr.readline()).decode(errors="replace"):
        seen.append(line)
        if line.startswith("DevTools listening on "):
            return line.removeprefix("DevTools listening on ").strip()
    raise AssertionError("chromium exited without a DevTools socket:\n" + "".join(seen)[-3000:])


async def _drain(stderr: asyncio.StreamReader) -> None:
    while await stderr.read(65536):  # keep reading: a full pipe would stall the browser
        pass


@asynccontextmanager
async def browser_tab(tmp_path: Path, width: int = 800, height: int = 600) -> AsyncIterator[Tab]:
    """A fresh headless Chromium with one tab of the given viewport, killed (its whole process group) on exit."""
    assert CHROMIUM is not None
    profile = tmp_path / f"profile-{uuid.uuid4().hex}"
    proc = await asyncio.create_subprocess_exec(
        CHROMIUM,
        *FLAGS,
        "--remote-debugging-port=0",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "about:blank",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    assert proc.stderr is not None
    drain: asyncio.Task[None] | None = None
    try:
        url = await asyncio.wait_for(_devtools_url(proc.stderr), TIMEOUT)
        drain = asyncio.create_task(_drain(proc.stderr))
        async with aiohttp.ClientSession() as http, http.ws_connect(url, max_msg_size=0) as ws:
            devtools = DevTools(ws)
            try:
                target = await devtools.send("Target.createTarget", url="about:blank")
                attached = await devtools.send("Target.attachToTarget", targetId=target["targetId"], flatten=True)
                tab = Tab(devtools, attached["sessionId"])
                await tab.send("Page.enable")
                await tab.send(
                    "Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False
                )
                yield tab
            finally:
                devtools.reader.cancel()
                with suppress(asyncio.CancelledError):
                    await devtools.reader
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        if drain is not None:
            await drain


# --- a small DOM from Chromium's serialization ---------------------------------------------------------
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """All the text, as textContent has it (screen-reader-only words included)."""
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    @property
    def visible(self) -> str:
        """The text a sighted reader sees: without the visually hidden words (.ticker-sr) and styles."""
        if "ticker-sr" in self.classes or self.tag == "style":
            return ""
        return "".join(c if isinstance(c, str) else c.visible for c in self.children)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.walk()

    def by_id(self, ident: str) -> Node:
        return next(n for n in self.walk() if n.attrs.get("id") == ident)

    def by_class(self, name: str) -> list[Node]:
        return [n for n in self.walk() if name in n.classes]


class TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        while len(self.stack) > 1 and self.stack.pop().tag != tag:
            pass

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


async def dump_dom(tmp_path: Path, url: str, budget_ms: int = 5000) -> Node:
    html = await chromium(tmp_path, f"--virtual-time-budget={budget_ms}", "--dump-dom", url)
    return parse(html)


# --- PNG ---------------------------------------------------------------------------------------------------
def png_rows(data: bytes) -> list[list[tuple[int, int, int]]]:
    """The RGB pixels, row by row, of an 8-bit non-interlaced RGB or RGBA PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    chunks: dict[bytes, bytes] = {}
    pos = 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        chunks[kind] = chunks.get(kind, b"") + data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
    bpp = 3 if color == 2 else 4
    raw, stride = zlib.decompress(chunks[b"IDAT"]), width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            a, b = (line[x - bpp] if x >= bpp else 0), prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if kind == 1:
                line[x] = (line[x] + a) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + b) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xFF
            elif kind == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append([(line[x], line[x + 1], line[x + 2]) for x in range(0, stride, bpp)])
        prev = line
    return rows
