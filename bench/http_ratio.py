#!/usr/bin/env python3
"""GET /v1/ticker requests/s as a ratio of a bare aiohttp handler returning the same bytes, side by side.

    python bench/http_ratio.py [--rounds 5] [--duration 3] [--concurrency 32] [--ablation] [--big]

Starts, every server pinned to --server-core and everything else to --client-core: the fake upstream
(scripts/fake_upstream.py), a private redis-server, `ticker serve` (in-process store), `ticker serve` with
TICKER_REDIS_URL, and bench/bare_server.py serving the exact responses captured from ticker (body and
headers, less Date, Server and Content-Length, which aiohttp writes itself; the headers built once at start
as a CIMultiDict), a copy of it with one no-op middleware, and the naive design (GET the body from Redis on
every request). Each round measures:

  interleaved  every target alone, one after another (the order reversed every other round);
  together     each pair (ticker and bare, ...) loaded at the same time, the two servers sharing the
               core: whatever else runs on the machine slows both alike.

and prints requests/s, requests per second of server CPU time, and the median of the per-round ratios.
Read the ratios: on a shared machine absolute numbers drift. --ablation adds bench/ticker_variant.py
(ticker's app with a bare /v1/ticker handler; and with the snapshot lookup as well) to show where the time
goes. --big serves the bigger strip instead: all 20 cities, all 39 currencies and air quality on (the fake
upstream's NBK lists every currency of NBK's real document).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TypedDict

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    HOST,
    Procs,
    free_port,
    machine,
    median,
    pinned,
    raw_get,
    start_fake_upstream,
    start_redis,
    ticker_argv,
    ticker_env,
    wait_http,
)
from _load import Target, measure

DROP = {"date", "server", "content-length"}  # aiohttp writes these itself
HERE = Path(__file__).resolve().parent
# (label, numerator, denominator)
RATIOS = [
    ("ticker / bare", "ticker", "bare"),
    ("ticker+redis / bare", "ticker+redis", "bare"),
    ("naive (Redis GET per request) / bare", "naive", "bare"),
    ("bare + no-op middleware / bare", "bare+mw", "bare"),
    ("ticker gzip / bare gzip", "ticker-gzip", "bare-gzip"),
    ("ticker 304 / bare 304", "ticker-304", "bare-304"),
    ("ticker app, bare handler / bare", "ticker-fixed", "bare"),  # --ablation: see ticker_variant.py
    ("ticker app, render + fixed headers / bare", "ticker-render", "bare"),
]
Answer = tuple[int, list[tuple[str, str]], bytes]


class Spec(TypedDict):
    """One captured response, as bench/bare_server.py reads it."""

    status: int
    headers: list[tuple[str, str]]
    body_b64: str


def capture(port: int, headers: dict[str, str]) -> Spec:
    status, got, body = raw_get(port, "/v1/ticker", headers)
    kept = [(name, value) for name, value in got if name.lower() not in DROP]
    return {"status": status, "headers": kept, "body_b64": base64.b64encode(body).decode()}


def wait_current(port: int, timeout: float = 30) -> None:
    """Until every item of the strip is current (air quality does not gate /readyz): the body measured is final."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = json.loads(raw_get(port, "/v1/ticker")[2])
        if not any(item["stale"] for kind in ("weather", "rates", "air") for item in body.get(kind, [{"stale": 1}])):
            return
        time.sleep(0.2)
    raise RuntimeError(f"the strip on port {port} not all current after {timeout}s")


def header(answer: Spec, name: str) -> str:
    return next(value for key, value in answer["headers"] if key.lower() == name.lower())


def same(a: Answer, b: Answer) -> bool:
    def norm(r: Answer) -> tuple[int, list[tuple[str, str]], bytes]:
        return r[0], sorted((k.lower(), v) for k, v in r[1] if k.lower() != "date"), r[2]

    return norm(a) == norm(b)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=3, help="seconds per measurement")
    parser.add_argument("--concurrency", type=int, default=32, help="open connections per generator")
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1)
    parser.add_argument("--redis-core", type=int, help="where redis-server runs (default: the client core)")
    parser.add_argument("--generator", choices=("wrk", "python"), default="wrk" if shutil.which("wrk") else "python")
    parser.add_argument("--mode", choices=("both", "interleaved", "together"), default="both")
    parser.add_argument("--no-redis", action="store_true", help="skip ticker+redis and the naive design")
    parser.add_argument("--ablation", action="store_true", help="add ticker-fixed and ticker-render")
    parser.add_argument("--targets", help="comma-separated subset of target names (default: all)")
    parser.add_argument(
        "--big", action="store_true", help="the bigger strip: all 20 cities, all 39 currencies and air quality on"
    )
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.client_core})  # this process and whatever it starts unpinned
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
    print("machine:", machine())
    gen = f"wrk -t1 -c{args.concurrency} -d{args.duration:g}s" if args.generator == "wrk" else "Python aiohttp client"
    print(f"load: {gen} per target on core {args.client_core}; servers on core {args.server_core}")

    with Procs() as procs, tempfile.TemporaryDirectory() as tmp:
        servers: dict[str, tuple[int, subprocess.Popen[bytes]]] = {}

        def server(name: str, argv: list[str], env: dict[str, str] | None = None) -> int:
            port = free_port()
            if env is not None:
                env = ticker_env(port, upstream, **env)
            else:
                argv = [*argv, "--port", str(port)]
            servers[name] = port, procs.start(pinned(args.server_core, argv), env, quiet=env is not None)
            return port

        upstream = start_fake_upstream(procs, args.client_core, *(["--all-currencies"] if args.big else []))
        big = {"TICKER_CITIES": "all", "TICKER_CURRENCIES": "all", "TICKER_AIR_SOURCES": "open_meteo_air"}
        strip: dict[str, str] = big if args.big else {}
        redis_core = args.client_core if args.redis_core is None else args.redis_core
        redis = None if args.no_redis else start_redis(procs, redis_core)
        server("ticker", ticker_argv(), dict(strip))
        if redis:
            server("ticker+redis", ticker_argv(), {**strip, "TICKER_REDIS_URL": f"redis://{HOST}:{redis}/0"})
        if args.ablation:
            for variant in ("fixed", "render"):
                server(f"ticker-{variant}", [sys.executable, str(HERE / "ticker_variant.py"), variant], dict(strip))
        for port, proc in servers.values():
            wait_http(port, "/readyz", proc)
            if args.big:
                wait_current(port)

        ticker = servers["ticker"][0]
        gz = {"Accept-Encoding": "gzip"}
        identity = capture(ticker, {})
        inm = {"If-None-Match": header(identity, "ETag")}
        spec = {"/v1/ticker": identity, "/v1/ticker.gz": capture(ticker, gz), "/v1/ticker.304": capture(ticker, inm)}
        (Path(tmp) / "spec.json").write_text(json.dumps(spec))
        bare_argv = [sys.executable, str(HERE / "bare_server.py"), "--spec", str(Path(tmp) / "spec.json")]
        bare = server("bare", bare_argv + (["--redis-port", str(redis)] if redis else []))
        server("bare+mw", [*bare_argv, "--noop-middleware"])
        for name in ("bare", "bare+mw"):
            wait_http(servers[name][0], "/v1/ticker", servers[name][1])
        for variant, path, headers in (("identity", "/v1/ticker", {}), ("gzip", "/v1/ticker.gz", gz)):
            ok = same(raw_get(ticker, "/v1/ticker", headers), raw_get(bare, path, headers))
            print(f"bare response == ticker response ({variant}, Date aside): {ok}")
        print(f"ticker: {len(base64.b64decode(str(identity['body_b64'])))} body bytes, headers {identity['headers']}")

        def target(name: str, srv: str, path: str = "/v1/ticker", headers: dict[str, str] | None = None) -> Target:
            status = 304 if headers == inm else 200
            return Target(name, servers[srv][0], path, headers or {}, status, servers[srv][1].pid)

        targets = [target(n, n) for n in ("ticker", "bare", "bare+mw", "ticker+redis") if n in servers]
        targets += [target("naive", "bare", "/naive")] if redis else []
        targets += [target("ticker-gzip", "ticker", headers=gz), target("bare-gzip", "bare", "/v1/ticker.gz", gz)]
        targets += [target("ticker-304", "ticker", headers=inm), target("bare-304", "bare", "/v1/ticker.304", inm)]
        targets += [target(n, n) for n in ("ticker-fixed", "ticker-render") if n in servers]
        if args.targets:
            targets = [t for t in targets if t.name in args.targets.split(",")]
        return run(targets, args)


def run(targets: list[Target], args: argparse.Namespace) -> int:
    by_name = {t.name: t for t in targets}
    ratios = [r for r in RATIOS if r[1] in by_name and r[2] in by_name]
    together: dict[str, list[tuple[float, float]]] = {label: [] for label, _, _ in ratios}

    def load(group: list[Target]) -> list[tuple[float, float]]:
        return measure(group, args.concurrency, args.duration, args.client_core, args.generator)

    for t in targets:  # warm-up: connections, caches, the first compressions
        measure([t], args.concurrency, 1, args.client_core, args.generator)
    for rnd in range(1, args.rounds + 1):
        if args.mode != "together":
            for t in targets if rnd % 2 else targets[::-1]:
                ((rps, per_cpu),) = load([t])
                t.rps.append(rps)
                t.per_cpu.append(per_cpu)
            print(f"round {rnd} interleaved, rps: " + "  ".join(f"{t.name} {t.rps[-1]:.0f}" for t in targets))
        if args.mode != "interleaved":
            for label, num, den in ratios:
                (a, a_cpu), (b, b_cpu) = load([by_name[num], by_name[den]])
                together[label].append((a / b, a_cpu / b_cpu))
            line = "  ".join(f"{num} {together[label][-1][0]:.2f}" for label, num, _ in ratios)
            print(f"round {rnd} together, rps ratio to bare: {line}", flush=True)

    goal: list[tuple[str, float]] = []
    if args.mode != "together":
        for title, attr in (("requests/s", "rps"), ("requests per second of server CPU time", "per_cpu")):
            print(f"\ninterleaved, {title}:")
            print(f"  {'target':<14}" + "".join(f"{'r' + str(i + 1):>7}" for i in range(args.rounds)) + "  median")
            for t in targets:
                values = getattr(t, attr)
                print(f"  {t.name:<14}" + "".join(f"{v:>7.0f}" for v in values) + f"{median(values):>8.0f}")
        print("\ninterleaved, median of the per-round ratios [each round]:")
        for label, num, den in ratios:
            for kind, attr in (("rps", "rps"), ("per CPU-s", "per_cpu")):
                values = [a / b for a, b in zip(getattr(by_name[num], attr), getattr(by_name[den], attr), strict=True)]
                show(f"{label}, {kind}", values)
                goal += [("interleaved", median(values))] if (label, kind) == ("ticker / bare", "rps") else []
    if args.mode != "interleaved":
        print("\ntogether (both loaded at once on the server core), median of the per-round ratios [each round]:")
        for label, values in together.items():
            show(f"{label}, rps", [v[0] for v in values])
            show(f"{label}, per CPU-s", [v[1] for v in values])
            goal += [("together", median([v[0] for v in values]))] if label == "ticker / bare" else []
    print()
    for mode, ratio in goal:
        print(f"goal ({mode}): ticker >= 0.9 x bare requests/s -> {ratio:.3f}: {'met' if ratio >= 0.9 else 'NOT met'}")
    return 0 if goal and all(ratio >= 0.9 for _, ratio in goal) else 1


def show(label: str, values: list[float]) -> None:
    print(f"  {label:<50} {median(values):.3f}  [{' '.join(f'{v:.2f}' for v in values)}]")


if __name__ == "__main__":
    raise SystemExit(main())
