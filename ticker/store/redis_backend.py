"""The shared backend behind the store: the only module that knows Redis key names.

``ticker:{v2}:data:<source>``   hash  item key (``USD@2026-04-01``, ``astana``) -> Entry JSON
``ticker:{v2}:ts:<source>``     hash  item key -> fetched_at (epoch seconds), for newest-wins in Lua
``ticker:{v2}:status:<source>`` string SourceStatus JSON
``ticker:{v2}:status_ts``       hash  source -> the status's ``touched`` (epoch seconds), newest-wins in Lua
``ticker:{v2}:claim:<key>``     string owner, with expiry: one fetch per planned run across replicas (the
                                backfill's ``history:<date>`` and its pace ``history:pace:<slot>`` too)
``ticker:{v2}:history:<CUR>``   hash  ISO date -> Day JSON ({"rate":..,"change":..,"source":"nbk"}); past days
                                written only where absent (immutable), today's where different
``ticker:{v2}:history_currencies`` set the currencies with a history hash
``ticker:{v2}:updates``         channel: ``data:<source>`` / ``status:<source>`` / ``history:<CUR>:<date>,<date>``

Writes are one Lua script (atomic merge + publish), so replicas never overwrite newer data. Each script
PUBLISHes before it writes: a user whose ACL lacks the channel is refused before anything is written, so no
data is ever stored without its announcement. The channel is an argument, not a key (an ACL grants it with
``&``, the keys with ``~``; docs/deploy.md has the user). Every key
carries the hash tag ``{v2}``: on a Redis Cluster they all live in one slot, so scripts and pipelines stay
legal (tests/test_redis_ha.py runs them on a real cluster). Which server(s) to talk to (one server,
Sentinel, Cluster) is ticker/store/connect.py's business.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import date
from typing import Any, TypeVar, cast

from pydantic import BaseModel, ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoPermissionError, ResponseError

from ticker.redis_url import mask_url_passwords
from ticker.state import Entries, Entry, SourceStatus
from ticker.store import scripts
from ticker.store.connect import REDIS_ERRORS, connect
from ticker.store.history import Day
from ticker.store.shared import LOST, RESYNC, StoreError

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)

PREFIX = "ticker:{v2}:"
CHANNEL = PREFIX + "updates"
SOURCES_SET = PREFIX + "sources"
HISTORY_SET = PREFIX + "history_currencies"
HEALTH_EVERY = 2.0  # seconds a subscription may be silent before it is PINGed
HEALTH_PING = "ticker-health"
RETRY_FIRST, RETRY_MOST = 0.2, 1.0  # seconds between resubscriptions: doubling from the first to the most
RETRY_REFUSED = 30.0  # seconds after an ACL refusal (NOPERM): it will not change by itself soon
RELOCATE_EVERY = 15.0  # seconds between asking whether the primary (Sentinel) or the slot owner (Cluster) moved


class PrimaryMoved(RedisConnectionError):
    """The subscription's server is alive but no longer the one to subscribe on (a failover it survived)."""


class RedisBackend:
    kind = "redis"

    def __init__(self, url: str, *, timeout: float = 2.0, relocate_every: float = RELOCATE_EVERY) -> None:
        self.url = url
        self._conn = connect(url, timeout=timeout)
        self._timeout = timeout
        self._relocate_every = relocate_every
        self._client = self._conn.client
        self._closed = False
        self._merge = self._client.register_script(scripts.MERGE)
        self._status = self._client.register_script(scripts.STATUS)
        self._release = self._client.register_script(scripts.RELEASE)
        self._history = self._client.register_script(scripts.HISTORY)

    async def load(self, source: str | None = None) -> tuple[dict[str, Entries], dict[str, SourceStatus]]:
        try:
            names = [source] if source else sorted(cast(set[str], await self._client.smembers(SOURCES_SET)))
            async with self._client.pipeline(transaction=False) as pipe:  # one round trip for all of them
                for name in names:
                    pipe.hgetall(PREFIX + f"data:{name}")
                    pipe.get(PREFIX + f"status:{name}")
                replies = await pipe.execute()
        except REDIS_ERRORS as exc:
            raise StoreError(_why(exc)) from exc
        entries: dict[str, Entries] = {}
        status: dict[str, SourceStatus] = {}
        for name, raw, text in zip(names, replies[::2], replies[1::2], strict=True):
            entries[name] = {k: e for k, v in raw.items() if (e := _parse(Entry, v)) is not None}
            if text and (parsed := _parse(SourceStatus, text)) is not None:
                status[name] = parsed
        return entries, status

    async def write(self, source: str, entries: Mapping[str, Entry], drop: list[str]) -> None:
        args: list[Any] = [len(drop), *drop]
        for key, entry in entries.items():
            args += [key, f"{entry.fetched_at.timestamp():.6f}", entry.model_dump_json()]
        keys = [PREFIX + f"data:{source}", PREFIX + f"ts:{source}", SOURCES_SET]
        try:
            await self._merge(keys=keys, args=[CHANNEL, *args, source])
        except REDIS_ERRORS as exc:
            raise StoreError(_why(exc)) from exc

    async def write_status(self, status: SourceStatus) -> None:
        try:
            # a script, not a MULTI pipeline: atomic on one slot in a cluster too, on every redis-py version;
            # newest-wins as the data, or a replica writing back after a failover could put an older one back
            keys = [PREFIX + f"status:{status.source}", SOURCES_SET, PREFIX + "status_ts"]
            touched = f"{status.touched.timestamp():.6f}"
            await self._status(keys=keys, args=[CHANNEL, status.model_dump_json(), status.source, touched])
        except REDIS_ERRORS as exc:
            raise StoreError(_why(exc)) from exc

    async def load_history(
        self, currency: str | None = None, dates: Sequence[date] | None = None
    ) -> dict[str, dict[date, Day]]:
        """Every currency's history, one currency's, or some of its dates (what an announcement named)."""
        try:
            codes = [currency] if currency else sorted(cast(set[str], await self._client.smembers(HISTORY_SET)))
            async with self._client.pipeline(transaction=False) as pipe:
                for code in codes:
                    if dates is None:
                        pipe.hgetall(PREFIX + f"history:{code}")
                    else:
                        pipe.hmget(PREFIX + f"history:{code}", [day.isoformat() for day in dates])
                replies = await pipe.execute()
        except REDIS_ERRORS as exc:
            raise StoreError(_why(exc)) from exc
        out: dict[str, dict[date, Day]] = {}
        for code, reply in zip(codes, replies, strict=True):
            pairs = reply.items() if dates is None else zip((d.isoformat() for d in dates), reply, strict=True)
            out[code] = {
                day: value
                for field, text in pairs
                if text is not None and (day := _iso_date(field)) is not None and (value := _parse(Day, text))
            }
        return out

    async def write_history(self, currency: str, days: Mapping[date, Day], today: date) -> None:
        args: list[Any] = [CHANNEL, today.isoformat(), currency]
        for day, value in sorted(days.items()):
            args += [day.isoformat(), value.model_dump_json()]
        try:
            await self._history(keys=[PREFIX + f"history:{currency}", HISTORY_SET], args=args)
        except REDIS_ERRORS as exc:
            raise StoreError(_why(exc)) from exc

    async def updates(self) -> AsyncIterator[str]:
        """Yield announcements: RESYNC once subscribed (first, and after every resubscription), and LOST + why once
        when the subscription goes down. Every (re)subscription asks afresh where to subscribe (the primary the
        Sentinels name now, the slot owner a cluster node names now); retries back off up to RETRY_MOST seconds
        (RETRY_REFUSED after an ACL refusal), logged once per loss, not per attempt."""
        delay = RETRY_FIRST
        me = asyncio.current_task()
        up: bool | None = None  # None: never subscribed yet; False: down, and said so
        while not self._closed:
            failed: BaseException | None = None
            try:
                client, where = await self._conn.subscriber(CHANNEL)
            except REDIS_ERRORS as exc:
                failed = exc
            else:
                try:
                    async for message in self._subscribed(client, where, me):
                        if message == RESYNC:
                            if up is False:
                                log.info("redis subscription back, on %s", where or "the server")
                            else:
                                log.debug("redis subscription on %s", where or "the server")
                            up, delay = True, RETRY_FIRST
                        yield message
                except REDIS_ERRORS as exc:
                    failed = exc
                finally:
                    with contextlib.suppress(*REDIS_ERRORS):
                        await asyncio.wait_for(client.aclose(), 1.0)
            if self._closed:
                return
            why = _why(failed) if failed is not None else "redis: subscription ended"
            if up is not False:
                log.warning("redis subscription down, reloading from redis until it is back: %s", why)
                up = False
                yield LOST + why
            await asyncio.sleep(delay)
            delay = RETRY_REFUSED if failed is not None and _refused(failed) else min(delay * 2, RETRY_MOST)

    async def _subscribed(self, client: Any, where: str, me: asyncio.Task[Any] | None) -> AsyncIterator[str]:
        """RESYNC when the server confirms the subscription, then every message. A subscription silent for
        HEALTH_EVERY seconds is PINGed; no confirmation or no answer within the timeout raises TimeoutError, so a
        hung server is left within HEALTH_EVERY + 2 x (timeout + the 1 s poll). Every ``relocate_every`` seconds it
        asks where to subscribe again, and raises PrimaryMoved when that is elsewhere now (a network partition can
        leave the old primary answering but no longer told of the writes)."""
        pubsub = client.pubsub()
        loop = asyncio.get_running_loop()
        try:
            await pubsub.subscribe(CHANNEL)
            heard, waiting, confirmed = loop.time(), True, False  # waiting: for the confirmation, or a PING's answer
            located = heard
            while not self._closed:
                # short polls: redis-py can swallow a cancellation inside a long read
                message = await pubsub.get_message(timeout=1.0)
                if me is not None and me.cancelling():  # redis-py swallowed our cancellation
                    raise asyncio.CancelledError
                now = loop.time()
                if message is not None:
                    if message["type"] == "subscribe" and not confirmed:
                        confirmed = True
                        yield RESYNC
                    elif message["type"] == "message" and isinstance(message.get("data"), str):
                        yield message["data"]
                    heard, waiting = now, False
                elif waiting and now - heard > self._timeout:
                    raise TimeoutError(f"no answer from {where} within {self._timeout:g} s")
                elif now - heard > HEALTH_EVERY:
                    await pubsub.ping(HEALTH_PING)
                    heard, waiting = now, True
                if where and now - located > self._relocate_every:
                    located = now
                    await self._still_at(where)
        finally:
            with contextlib.suppress(*REDIS_ERRORS):
                await asyncio.wait_for(pubsub.aclose(), 1.0)

    async def _still_at(self, where: str) -> None:
        try:
            now_at = await self._conn.locate(CHANNEL)
        except REDIS_ERRORS:  # the Sentinels or the cluster do not answer: stay on a server that does
            return
        if now_at != where:
            raise PrimaryMoved(f"moved from {where} to {now_at}")

    async def claim(self, key: str, ttl: float, owner: str) -> bool:
        try:
            got = await self._client.set(PREFIX + f"claim:{key}", owner, nx=True, px=max(1, int(ttl * 1000)))
        except REDIS_ERRORS as exc:
            raise StoreError(_why(exc)) from exc
        return bool(got)

    async def release(self, key: str, owner: str) -> None:
        try:
            await self._release(keys=[PREFIX + f"claim:{key}"], args=[owner])
        except REDIS_ERRORS as exc:
            raise StoreError(_why(exc)) from exc

    async def ping(self) -> bool:
        try:
            return bool(await self._client.ping())
        except REDIS_ERRORS:
            return False

    def stop(self) -> None:
        self._closed = True

    async def close(self) -> None:
        self._closed = True
        try:
            await asyncio.wait_for(self._conn.aclose(), 2.0)
        except REDIS_ERRORS:  # TimeoutError is an OSError
            log.warning("redis did not close cleanly")


def _parse(model: type[M], text: str) -> M | None:
    """One unreadable value (another version, a hand edit) is skipped, never a crash."""
    try:
        return model.model_validate_json(text)
    except ValidationError:
        log.warning("ignoring an unreadable %s in redis", model.__name__)
        return None


def _iso_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        log.warning("ignoring a history field that is not a date: %r", text[:40])
        return None


_CLIENT_REPR = re.compile(r"<redis\.[\w.]+\.Redis\(.*?,host=([^,]+),port=(\d+),.*?\)>\)>\)>")


def _why(exc: BaseException) -> str:
    """``redis: <what redis-py said>`` (secrets masked); an ACL refusal reads ``redis: NOPERM ...`` and names the
    grants the service needs (docs/deploy.md has the user)."""
    # a Sentinel's MasterNotFoundError carries the whole client's repr (certificate paths and all): its address will do
    text = _CLIENT_REPR.sub(r"\1:\2", mask_url_passwords(str(exc) or type(exc).__name__))
    if _refused(exc):
        text = f"NOPERM {text} (the ACL user needs the commands of docs/deploy.md, ~{PREFIX}* and &{CHANNEL})"
    return f"redis: {text}"


def _refused(exc: BaseException) -> bool:
    """An ACL refusal: NOPERM, or the same refusal inside a script (redis-py reads that as a plain ResponseError)."""
    text = str(exc)
    return isinstance(exc, NoPermissionError) or (
        isinstance(exc, ResponseError)
        and any(words in text for words in ("NOPERM", "no permissions", "user executing the script can't"))
    )
