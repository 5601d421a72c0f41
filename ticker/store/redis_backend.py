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

Writes are one Lua script (atomic merge + publish), so replicas never overwrite newer data. Every key
carries the hash tag ``{v2}``: on a Redis Cluster they all live in one slot, so scripts and pipelines stay
legal (tests/test_redis_ha.py runs them on a real cluster). Which server(s) to talk to (one server,
Sentinel, Cluster) is ticker/store/connect.py's business.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import date
from typing import Any, TypeVar, cast

from pydantic import BaseModel, ValidationError
from redis.exceptions import RedisError

from ticker.state import Entries, Entry, SourceStatus
from ticker.store.connect import connect
from ticker.store.history import Day
from ticker.store.shared import RESYNC, StoreError

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)

PREFIX = "ticker:{v2}:"
CHANNEL = PREFIX + "updates"
SOURCES_SET = PREFIX + "sources"
HISTORY_SET = PREFIX + "history_currencies"

_MERGE = """
local changed = 0
local drops = tonumber(ARGV[1])
for i = 2, drops + 1 do
  redis.call('HDEL', KEYS[1], ARGV[i])
  redis.call('HDEL', KEYS[2], ARGV[i])
end
for i = drops + 2, #ARGV - 1, 3 do
  local field, ts, value = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  local have = tonumber(redis.call('HGET', KEYS[2], field) or '-1')
  if ts > have then
    redis.call('HSET', KEYS[1], field, value)
    redis.call('HSET', KEYS[2], field, ARGV[i + 1])
    changed = changed + 1
  end
end
if changed > 0 then
  redis.call('SADD', KEYS[4], ARGV[#ARGV])
  redis.call('PUBLISH', KEYS[3], 'data:' .. ARGV[#ARGV])
end
return changed
"""

_STATUS = """
local have = redis.call('HGET', KEYS[4], ARGV[2])
if have and tonumber(have) > tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[4], ARGV[2], ARGV[3])
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('PUBLISH', KEYS[3], 'status:' .. ARGV[2])
return 1
"""

# KEYS: the currency's hash, the channel, HISTORY_SET; ARGV: today (ISO), the currency, then date/value pairs.
# ISO dates compare as strings: a date before today is written only where absent, so a confirmed past day is
# never overwritten, whichever replica, clock or write-back comes later.
_HISTORY = """
local written = {}
for i = 3, #ARGV - 1, 2 do
  local field, value = ARGV[i], ARGV[i + 1]
  if field < ARGV[1] then
    if redis.call('HSETNX', KEYS[1], field, value) == 1 then written[#written + 1] = field end
  elseif redis.call('HGET', KEYS[1], field) ~= value then
    redis.call('HSET', KEYS[1], field, value)
    written[#written + 1] = field
  end
end
if #written > 0 then
  redis.call('SADD', KEYS[3], ARGV[2])
  redis.call('PUBLISH', KEYS[2], 'history:' .. ARGV[2] .. ':' .. table.concat(written, ','))
end
return #written
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisBackend:
    kind = "redis"

    def __init__(self, url: str, *, timeout: float = 2.0) -> None:
        self.url = url
        self._conn = connect(url, timeout=timeout)
        self._client = self._conn.client
        self._closed = False
        self._merge = self._client.register_script(_MERGE)
        self._status = self._client.register_script(_STATUS)
        self._release = self._client.register_script(_RELEASE)
        self._history = self._client.register_script(_HISTORY)

    async def load(self, source: str | None = None) -> tuple[dict[str, Entries], dict[str, SourceStatus]]:
        try:
            names = [source] if source else sorted(cast(set[str], await self._client.smembers(SOURCES_SET)))
            async with self._client.pipeline(transaction=False) as pipe:  # one round trip for all of them
                for name in names:
                    pipe.hgetall(PREFIX + f"data:{name}")
                    pipe.get(PREFIX + f"status:{name}")
                replies = await pipe.execute()
        except RedisError as exc:
            raise StoreError(f"redis: {exc}") from exc
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
        keys = [PREFIX + f"data:{source}", PREFIX + f"ts:{source}", CHANNEL, SOURCES_SET]
        try:
            await self._merge(keys=keys, args=[*args, source])
        except RedisError as exc:
            raise StoreError(f"redis: {exc}") from exc

    async def write_status(self, status: SourceStatus) -> None:
        try:
            # a script, not a MULTI pipeline: atomic on one slot in a cluster too, on every redis-py version;
            # newest-wins as the data, or a replica writing back after a failover could put an older one back
            keys = [PREFIX + f"status:{status.source}", SOURCES_SET, CHANNEL, PREFIX + "status_ts"]
            touched = f"{status.touched.timestamp():.6f}"
            await self._status(keys=keys, args=[status.model_dump_json(), status.source, touched])
        except RedisError as exc:
            raise StoreError(f"redis: {exc}") from exc

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
        except RedisError as exc:
            raise StoreError(f"redis: {exc}") from exc
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
        args: list[Any] = [today.isoformat(), currency]
        for day, value in sorted(days.items()):
            args += [day.isoformat(), value.model_dump_json()]
        try:
            await self._history(keys=[PREFIX + f"history:{currency}", CHANNEL, HISTORY_SET], args=args)
        except RedisError as exc:
            raise StoreError(f"redis: {exc}") from exc

    async def updates(self) -> AsyncIterator[str]:
        """Yield announcements; on a lost connection reconnect with backoff and yield RESYNC."""
        delay = 0.2
        me = asyncio.current_task()
        while not self._closed:
            subscription = self._conn.pubsub(CHANNEL)  # Sentinel: the primary of the moment
            try:
                pubsub = await subscription.__aenter__()
            except (RedisError, OSError) as exc:
                log.warning("redis subscription failed (%s); retrying in %.1f s", exc, delay)
            else:
                try:
                    await pubsub.subscribe(CHANNEL)
                    delay = 0.2
                    yield RESYNC
                    while not self._closed:
                        # short polls: redis-py can swallow a cancellation inside a long read
                        message = await pubsub.get_message(timeout=1.0)
                        if me is not None and me.cancelling():  # redis-py swallowed our cancellation
                            raise asyncio.CancelledError
                        if message is not None and isinstance(message.get("data"), str):
                            yield message["data"]
                except (RedisError, OSError) as exc:
                    log.warning("redis subscription lost (%s); retrying in %.1f s", exc, delay)
                finally:
                    with contextlib.suppress(RedisError, OSError, TimeoutError):
                        await asyncio.wait_for(subscription.__aexit__(None, None, None), 1.0)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def claim(self, key: str, ttl: float, owner: str) -> bool:
        try:
            got = await self._client.set(PREFIX + f"claim:{key}", owner, nx=True, px=max(1, int(ttl * 1000)))
        except RedisError as exc:
            raise StoreError(f"redis: {exc}") from exc
        return bool(got)

    async def release(self, key: str, owner: str) -> None:
        try:
            await self._release(keys=[PREFIX + f"claim:{key}"], args=[owner])
        except RedisError as exc:
            raise StoreError(f"redis: {exc}") from exc

    async def ping(self) -> bool:
        try:
            return bool(await self._client.ping())
        except RedisError:
            return False

    def stop(self) -> None:
        self._closed = True

    async def close(self) -> None:
        self._closed = True
        try:
            await asyncio.wait_for(self._conn.aclose(), 2.0)
        except (RedisError, OSError, TimeoutError):
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
