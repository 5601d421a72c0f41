"""Prometheus metrics: one registry per app, request counts kept as plain ints on the hot path."""

from __future__ import annotations

import os
from collections import Counter as Tally
from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from ticker.clock import Clock

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _Live(Collector):
    """Values read at scrape time: request counts, data age per source, store health, streams."""

    def __init__(self, metrics: Metrics) -> None:
        self.m = metrics

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "ticker_http_requests", "HTTP requests by route and status", labels=["route", "status"]
        )
        for (route, status), count in sorted(self.m.requests.items()):
            requests.add_metric([route, str(status)], count)
        yield requests
        yield GaugeMetricFamily("ticker_sse_clients", "Open event streams", value=self.m.streams)
        # which process answered: under `serve --workers N` each worker counts for itself
        yield InfoMetricFamily("ticker_process", "The process that answered this scrape", {"pid": str(os.getpid())})
        if self.m.newest is None or self.m.store_up is None:
            return
        age = GaugeMetricFamily(
            "ticker_data_age_seconds", "Seconds since the newest good fetch, per source", labels=["source"]
        )
        now = self.m.clock()
        for source in self.m.sources:
            fetched = self.m.newest(source)
            if fetched is not None:
                age.add_metric([source], (now - fetched).total_seconds())
        yield age
        yield GaugeMetricFamily("ticker_store_up", "1 when the store answers", value=1.0 if self.m.store_up() else 0.0)
        if self.m.divergences is not None:
            ratio = GaugeMetricFamily(
                "ticker_rate_divergence_ratio",
                "|primary rate / cross-check rate - 1| for today's date",
                labels=["currency"],
            )
            for currency, value in self.m.divergences():
                ratio.add_metric([currency], value)
            yield ratio
        if self.m.history is not None:
            days = GaugeMetricFamily(
                "ticker_history_days",
                "Days of the history window held (TICKER_HISTORY__DAYS wanted)",
                labels=["currency"],
            )
            for currency, count in self.m.history().items():
                days.add_metric([currency], count)
            yield days


class Metrics:
    def __init__(self, sources: list[str], clock: Clock) -> None:
        self.registry = CollectorRegistry()
        self.sources = sources
        self.clock = clock
        # read at scrape time, bound by the wiring when the store and the cross-check exist
        self.newest: Callable[[str], datetime | None] | None = None  # a source's newest good fetch
        self.store_up: Callable[[], bool] | None = None
        self.divergences: Callable[[], list[tuple[str, float]]] | None = None  # (currency, ratio)
        self.history: Callable[[], dict[str, int]] | None = None  # days of the backfill window held, per currency
        self.requests: Tally[tuple[str, int]] = Tally()
        self.streams = 0
        self.fetches = Counter(
            "ticker_fetches", "Fetch runs by source and outcome", ["source", "outcome"], registry=self.registry
        )
        self.duration = Histogram(
            "ticker_fetch_duration_seconds",
            "Time spent fetching, retries included",
            ["source"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.history_requests = Counter(
            "ticker_history_requests",
            "History backfill requests to NBK by outcome (ok, absent: another date's document, failed)",
            ["outcome"],
            registry=self.registry,
        )
        self.task_restarts = Counter(
            "ticker_task_restarts", "Background tasks restarted after a failure", ["task"], registry=self.registry
        )
        self.registry.register(_Live(self))

    def render(self) -> bytes:
        return generate_latest(self.registry)
