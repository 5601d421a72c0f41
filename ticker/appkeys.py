"""Typed keys for everything the application holds (aiohttp's "no singletons": state lives on the app)."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web

from ticker.backfill import Backfill
from ticker.clock import Clock
from ticker.crosscheck import CrossCheck
from ticker.fanout import Hub
from ticker.metrics import Metrics
from ticker.refresh import Refresher
from ticker.respond import CachePolicy, Cors, Responder
from ticker.settings import Settings
from ticker.snapshot import Snapshot, View
from ticker.store import Store
from ticker.tasks import Supervisor

SETTINGS = web.AppKey("settings", Settings)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
STORE = web.AppKey("store", Store)
SNAPSHOT = web.AppKey("snapshot", Snapshot)
CROSSCHECK = web.AppKey("crosscheck", CrossCheck)
METRICS = web.AppKey("metrics", Metrics)
CORS = web.AppKey("cors", Cors)
RESPONDER = web.AppKey("responder", Responder)
CACHE_POLICY = web.AppKey("cache_policy", dict[View, CachePolicy])
SUPERVISOR = web.AppKey("supervisor", Supervisor)
SESSION = web.AppKey("session", aiohttp.ClientSession)
REFRESHER = web.AppKey("refresher", Refresher)
CLOSING = web.AppKey("closing", asyncio.Event)
STREAM_HUB = web.AppKey("stream_hub", Hub)
BACKFILL = web.AppKey("backfill", Backfill)  # only where history is on and this process fetches
