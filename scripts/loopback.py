"""Processes on free loopback ports, and plain GETs to them: what scripts/embed-test drives nginx, varnishd, php and
ticker with. Every process is started in its own session and stopped by its own id (its group: nginx's and varnishd's
children), never by name. Only the standard library."""

from __future__ import annotations

import gzip
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Answer:
    status: int
    body: str
    seconds: float
    headers: dict[str, str]


def get(url: str, timeout: float = 15, accept_encoding: str | None = None) -> Answer:
    """A GET without proxies; ``accept_encoding`` is sent as a browser would (a gzip answer is decoded)."""
    began = time.monotonic()
    request = urllib.request.Request(url, headers={"Accept-Encoding": accept_encoding} if accept_encoding else {})
    try:
        with NO_PROXY.open(request, timeout=timeout) as resp:
            status, raw, headers = resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        status, raw, headers = exc.code, exc.read(), dict(exc.headers)
    except OSError as exc:
        return Answer(0, f"unreachable: {exc}", time.monotonic() - began, {})
    if headers.get("Content-Encoding") == "gzip":
        raw = gzip.decompress(raw)
    return Answer(status, raw.decode("utf-8", "replace"), time.monotonic() - began, headers)


class Processes:
    """Every process this run starts, each in its own session, stopped by its own id on the way out."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[subprocess.Popen[bytes]] = []
        self.lock = threading.Lock()

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        log.close()
        with self.lock:
            self.started.append(proc)
        return proc

    @staticmethod
    def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGCONT)  # a stopped process cannot act on SIGTERM
            os.killpg(proc.pid, sig)  # the group of the process started here: nginx's or varnishd's children
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass

    def close(self) -> None:
        for proc in reversed(self.started):
            self.stop(proc)


def wait_until(what: str, check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {timeout:g} s")
        time.sleep(0.1)


def sleep_until(when: float) -> None:
    time.sleep(max(0.0, when - time.monotonic()))
