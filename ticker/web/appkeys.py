"""Typed keys for everything the application holds (aiohttp's "no singletons": state lives on the app)."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web

from ticker.clock import Clock
from ticker.fetch.backfill import Backfill
from ticker.fetch.crosscheck import CrossCheck
from ticker.fetch.refresh import Refresher
from ticker.metrics import Metrics
from ticker.policy import Policy
from ticker.render.snapshot import Snapshot, View
from ticker.settings import Settings
from ticker.store.store import Store
from ticker.tasks import Supervisor
from ticker.web.fanout import Hub
from ticker.web.respond import CachePolicy, Cors, Responder

SETTINGS = web.AppKey("settings", Settings)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
STORE = web.AppKey("store", Store)
POLICY = web.AppKey("policy", Policy)  # the freshness policy every part asks
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
