#!/usr/bin/env python3
"""Latency of a 366-day GET /v1/rates/history (JSON and CSV) beside GET /v1/ticker, in one run, as ratios.

    python bench/history.py [--rounds 5] [--requests 2000] [--server-core 0] [--client-core 1]

Starts the fake upstream (scripts/fake_upstream.py: NBK answers every date) and `ticker serve` (in-process store)
with TICKER_HISTORY__DAYS=366 and a high TICKER_HISTORY__RATE, waits until /readyz says the 366 days are held,
then, per round and in an order reversed every other round, sends --requests sequential requests over one
keep-alive connection to each target and takes the median and p99 latency:

  ticker        GET /v1/ticker (the strip, the house's baseline)
  history-json  GET /v1/rates/history?currency=USD&from=<today-365>&to=<today>   (366 dates, JSON)
  history-csv   the same with format=csv
  history-cold  366-day JSON ranges that move by a day every request: a rendering not cached yet (1,000 distinct
                ranges, more than the 256 renderings kept), so each request builds the body and its ETag

No compression (Accept-Encoding: identity), the server pinned to --server-core and this client to --client-core.
Read the ratios: on a shared machine absolute numbers drift.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    HOST,
    Procs,
    free_port,
    machine,
    median,
    percentile,
    pinned,
    start_fake_upstream,
    ticker_argv,
    ticker_env,
    wait_http,
)

ASTANA = timezone(timedelta(hours=5))
DAYS = 366


def paths(today: datetime, count: int) -> dict[str, list[str]]:
    end = today.date()
    start = end - timedelta(days=DAYS - 1)
    same = f"/v1/rates/history?currency=USD&from={start}&to={end}"
    cold = [
        f"/v1/rates/history?currency=USD&from={start + timedelta(days=k)}&to={end + timedelta(days=k)}"
        for k in range(1000)
    ]
    return {
        "ticker": ["/v1/ticker"],
        "history-json": [same],
        "history-csv": [same + "&format=csv"],
        "history-cold": cold[:count] if count < 1000 else cold,
    }


def measure(port: int, targets: list[str], requests: int) -> list[float]:
    """Seconds per request, sequential, over one keep-alive connection."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    took = []
    try:
        for i in range(requests):
            path = targets[i % len(targets)]
            started = time.perf_counter()
            conn.request("GET", path, headers={"Accept-Encoding": "identity"})
            resp = conn.getresponse()
            body = resp.read()
            took.append(time.perf_counter() - started)
            if resp.status != 200 or not body:
                raise RuntimeError(f"{path}: {resp.status}")
    finally:
        conn.close()
    return took


def held(port: int) -> int:
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        conn.request("GET", "/readyz")
        history = json.loads(conn.getresponse().read())["history"] or {"stored": {"USD": 0}}
        return int(history["stored"]["USD"])
    finally:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=2000, help="per target per round")
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.client_core})
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
    print("machine:", machine())
    with Procs() as procs:
        upstream = start_fake_upstream(procs, args.client_core)
        port = free_port()
        env = ticker_env(port, upstream, TICKER_HISTORY__DAYS=str(DAYS), TICKER_HISTORY__RATE="500")
        proc = procs.start(pinned(args.server_core, ticker_argv()), env)
        wait_http(port, "/readyz", proc)
        deadline = time.monotonic() + 120
        while (count := held(port)) < DAYS:
            if time.monotonic() > deadline:
                raise SystemExit(f"the backfill holds {count} of {DAYS} days after 120 s")
            time.sleep(0.2)
        print(f"backfill: {DAYS} days held")
        targets = paths(datetime.now(UTC).astimezone(ASTANA), args.requests)
        for name, ps in targets.items():
            conn = http.client.HTTPConnection(HOST, port, timeout=10)
            conn.request("GET", ps[0], headers={"Accept-Encoding": "identity"})
            resp = conn.getresponse()
            print(f"  {name:<13} {len(resp.read()):>7} body bytes, {resp.getheader('Content-Type')}")
            conn.close()
        for ps in targets.values():  # warm-up
            measure(port, ps, 200)
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in targets}
        names = list(targets)
        for rnd in range(1, args.rounds + 1):
            for name in names if rnd % 2 else names[::-1]:
                took = measure(port, targets[name], args.requests)
                results[name].append((median(took), percentile(took, 99)))
            line = "  ".join(f"{n} {results[n][-1][0] * 1e6:.0f}us" for n in names)
            print(f"round {rnd}, median latency: {line}", flush=True)
    print("\nmedian over rounds of each round's median and p99 latency (microseconds), and the ratio to /v1/ticker:")
    base = [m for m, _ in results["ticker"]]
    for name in names:
        med = [m for m, _ in results[name]]
        p99 = [p for _, p in results[name]]
        ratio = median([a / b for a, b in zip(med, base, strict=True)])
        print(f"  {name:<13} median {median(med) * 1e6:7.0f}  p99 {median(p99) * 1e6:7.0f}  x{ratio:.2f} of /v1/ticker")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
