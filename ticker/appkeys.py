"""Typed keys for what the application holds (aiohttp's "no singletons": state lives on the app)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from ticker.health import StoreHealth
from ticker.http_cache import Cors
from ticker.metrics import Metrics
from ticker.settings import Settings
from ticker.snapshot import Snapshot

SETTINGS = web.AppKey("settings", Settings)
SNAPSHOT = web.AppKey("snapshot", Snapshot)
METRICS = web.AppKey("metrics", Metrics)
CORS = web.AppKey("cors", Cors)
CACHE_CONTROL = web.AppKey("cache_control", dict[str, str])
STORE_HEALTH = web.AppKey("store_health", StoreHealth)
CLOSING = web.AppKey("closing", asyncio.Event)
