"""The README's embedding recipes as sites scripts/embed-test can run: each one's server configured from the README's
marked block (scripts/readme_command.py) with the documented substitutions alone, its pages, and what a page must
show for given contents of its includes; and the real `ticker serve` behind them. Only the standard library."""

from __future__ import annotations

import html
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from loopback import Processes, free_port, get, wait_until
from readme_command import recipe

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
PYTHON = os.environ.get("PYTHON") or str(ROOT / ".venv" / "bin" / "python")
INTERVAL = 6  # TICKER_OPEN_METEO__INTERVAL: the strip's max-age is half of it, stale-while-revalidate all of it
MAX_AGE, SWR = INTERVAL // 2, INTERVAL
DAY = 15  # "a day", scaled


def substituted(text: str, changes: list[tuple[str, str]]) -> str:
    for old, new in changes:
        if text.count(old) != 1:
            raise SystemExit(f"embed-test: the README's recipe has {text.count(old)} times {old!r}, not once")
        text = text.replace(old, new)
    return text


# ------------------------------------------------------------------------------------------------ ticker


class Ticker:
    def __init__(self, procs: Processes, upstream: str, name: str) -> None:
        self.procs, self.upstream, self.name = procs, upstream, name
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *, empty: bool = False) -> None:
        """A real ticker serve; ``empty``: every upstream unreachable (a closed port) and no Redis, so no data."""
        upstream = f"http://127.0.0.1:{free_port()}" if empty else self.upstream
        env = {k: v for k, v in os.environ.items() if not k.startswith("TICKER_")}
        env.update({f"TICKER_{s}__BASE_URL": upstream for s in ("NBK", "CBR", "OPEN_METEO", "MET_NO")})
        env.update(
            TICKER_HOST="127.0.0.1",
            TICKER_PORT=str(self.port),
            TICKER_OPEN_METEO__INTERVAL=str(INTERVAL),
            TICKER_OPEN_METEO__STALE_AFTER="7200",  # the fake's observation times are floored to 15 minutes
            TICKER_HISTORY__DAYS="0",
            TICKER_MET_NO__USER_AGENT="ticker-embed-test/1.0 ci@example.kz",
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
        )
        self.proc = self.procs.start(self.name, [PYTHON, "-m", "ticker", "serve"], env)
        wait_until("ticker /healthz", lambda: get(self.base + "/healthz", 2).status == 200)
        if not empty:
            wait_until(
                "ticker /readyz 200 (data from the fake upstream)", lambda: get(self.base + "/readyz", 2).status == 200
            )

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, sig)
        if sig == signal.SIGKILL:
            self.proc.wait(timeout=10)

    def strip_requests(self) -> dict[str, int]:
        """ticker's own count of requests to the embedding routes, by status."""
        text = get(self.base + "/metrics", 5).body
        counts: dict[str, int] = {}
        pattern = r'^ticker_http_requests_total\{route="/v1/ticker\.(?:html|txt)",status="(\d+)"\} ([0-9.]+)$'
        for status, value in re.findall(pattern, text, flags=re.MULTILINE):
            counts[status] = counts.get(status, 0) + int(float(value))
        return counts

    def fragment(self, route: str, query: str) -> str:
        answer = get(f"{self.base}/v1/{route}?{query}", 5)
        assert answer.status == 200, (route, query, answer.status, answer.body)
        return answer.body


# ------------------------------------------------------------------------------------------------ sites


@dataclass
class Include:
    text: str  # the directive as it stands in the page
    query: str
    route: str  # ticker.html or ticker.txt
    escaped: bool = False  # printed through htmlspecialchars()


@dataclass
class Site:
    """One recipe: its server(s), its pages, and what a page shows for given contents of its includes."""

    name: str
    work: Path
    procs: Processes
    ticker: Ticker
    port: int = field(default_factory=free_port)
    page_source: str = ""
    stub: str = ""
    after_failure: float = 0  # seconds the recipe does not ask ticker after it did not answer

    def start(self) -> None:
        raise NotImplementedError

    def includes(self, source: str) -> list[Include]:
        raise NotImplementedError

    def page(self, name: str, query: str | None = None) -> str:
        """Write a page: the README's block as written, or with ``query`` in every include; its URL."""
        raise NotImplementedError

    def with_query(self, query: str) -> str:
        source = self.page_source
        for include in self.includes(source):
            source = source.replace(include.text, include.text.replace(include.query, query))
        return source

    def expected(self, source: str, contents: Callable[[Include], str | None]) -> str:
        """The page as the server should send it: each include replaced by its contents (None: the stub)."""
        for include in self.includes(source):
            content = contents(include)
            content = self.stub if content is None else content
            source = source.replace(include.text, html.escape(content, quote=True) if include.escaped else content)
        return self.static(source)

    def static(self, source: str) -> str:
        return source

    def probes(self) -> list[str]:
        """URLs that must never reach ticker's internal routes."""
        return [f"{self.url}{path}" for path in ("/metrics", "/readyz", "/openapi.json")]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ticker_address(self) -> tuple[str, str]:
        return "127.0.0.1:8080", f"127.0.0.1:{self.ticker.port}"


class Nginx(Site):
    def start(self) -> None:
        www, cache = self.work / "www", self.work / "cache"
        www.mkdir()
        conf = substituted(
            recipe("nginx.conf", README),
            [
                self.ticker_address(),
                ("listen 80;", f"listen 127.0.0.1:{self.port};"),
                ("root /var/www/html;", f"root {www};"),
                ("/var/cache/nginx-ticker", str(cache)),
                ("inactive=1d", f"inactive={DAY}s"),
            ],
        )
        (self.work / "recipe.conf").write_text(conf)
        temp = "\n".join(
            f"    {kind}_temp_path {self.work}/tmp-{kind};" for kind in ("proxy", "fastcgi", "uwsgi", "scgi")
        )
        (self.work / "nginx.conf").write_text(
            f"daemon off;\npid {self.work}/nginx.pid;\nerror_log {self.work}/error.log info;\nworker_processes 1;\n"
            f"events {{ worker_connections 256; }}\nhttp {{\n    access_log {self.work}/access.log;\n"
            f"    client_body_temp_path {self.work}/tmp-body;\n{temp}\n    include {self.work}/recipe.conf;\n}}\n"
        )
        self.page_source = recipe("nginx-page.html", README)
        block = re.search(r'<!--# block name="(?P<name>[^"]+)" -->(?P<stub>.*?)<!--# endblock -->', self.page_source)
        assert block, "the nginx page block has no <!--# block ... --> stub"
        self.stub = block["stub"]
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        check = subprocess.run(
            [nginx, "-t", "-p", str(self.work), "-e", f"{self.work}/error.log", "-c", f"{self.work}/nginx.conf"],
            capture_output=True,
            text=True,
        )
        if check.returncode != 0:
            raise RuntimeError(f"nginx -t: {check.stderr.strip()}")
        self.procs.start(
            "nginx", [nginx, "-p", str(self.work), "-e", f"{self.work}/error.log", "-c", f"{self.work}/nginx.conf"]
        )
        wait_until("nginx listening", lambda: get(self.url + "/", 2).status != 0)

    def includes(self, source: str) -> list[Include]:
        found = re.finditer(r'<!--# include virtual="/_ticker\?(?P<q>[^"]*)"[^>]*-->', source)
        return [Include(m[0], m["q"], "ticker.html") for m in found]

    def static(self, source: str) -> str:
        return re.sub(r"<!--# block .*?<!--# endblock -->", "", source, flags=re.DOTALL)

    def page(self, name: str, query: str | None = None) -> str:
        source = self.page_source if query is None else self.with_query(query)
        (self.work / "www" / f"{name}.html").write_text(source)
        return f"{self.url}/{name}.html"

    def probes(self) -> list[str]:
        paths = (
            "/_ticker",
            "/_ticker?lang=ru",
            "/_ticker/metrics",
            "/_ticker/readyz",
            "/_ticker/openapi.json",
            "/_ticker_stub",
        )
        return super().probes() + [self.url + path for path in paths]


class Varnish(Site):
    def start(self) -> None:
        site_port = free_port()
        www = self.work / "site"
        www.mkdir()
        vcl = substituted(
            recipe("varnish.vcl", README),
            [
                ('.port = "8080"', f'.port = "{self.ticker.port}"'),
                ('.port = "8000"', f'.port = "{site_port}"'),
                ("grace = 1d", f"grace = {DAY}s"),
            ],
        )
        (self.work / "recipe.vcl").write_text(vcl)
        self.page_source = "<main>\n" + recipe("varnish-page.html", README) + "</main>\n"  # ESI parses from a "<"
        self.procs.start(
            "varnish-site",
            [sys.executable, "-m", "http.server", str(site_port), "--bind", "127.0.0.1", "--directory", str(www)],
        )
        varnishd = shutil.which("varnishd") or "/usr/sbin/varnishd"
        self.procs.start(
            "varnishd",
            [
                varnishd,
                "-F",
                "-n",
                str(self.work / "varnish"),
                "-a",
                f"127.0.0.1:{self.port}",
                "-f",
                str(self.work / "recipe.vcl"),
                "-s",
                "malloc,32m",
                "-T",
                "none",
            ],
        )
        wait_until("varnishd listening", lambda: get(self.url + "/", 2).status != 0, timeout=60)

    def includes(self, source: str) -> list[Include]:
        found = re.finditer(r'<esi:include src="/_ticker/v1/(?P<r>ticker\.(?:html|txt))\?(?P<q>[^"]*)"/>', source)
        return [Include(m[0], m["q"], m["r"]) for m in found]

    def page(self, name: str, query: str | None = None) -> str:
        source = self.page_source if query is None else self.with_query(query)
        (self.work / "site" / f"{name}.html").write_text(source)
        return f"{self.url}/{name}.html"

    def probes(self) -> list[str]:
        paths = (
            "/_ticker/metrics",
            "/_ticker/readyz",
            "/_ticker/openapi.json",
            "/_ticker/v1/ticker.html",
            "/_ticker/v1/ticker.txt?lang=ru",
            "/_ticker/v1/ticker.html/../../metrics",
        )
        urls = [self.url + path for path in paths]
        # and through includes in a page: an ESI include of an internal route is empty
        source = (
            "<main>\n"
            + "".join(
                f'<esi:include src="/_ticker/{p}"/>\n' for p in ("metrics", "readyz", "openapi.json", "v1/../metrics")
            )
            + "</main>\n"
        )
        (self.work / "site" / "internal.html").write_text(source)
        return super().probes() + urls + [self.url + "/internal.html"]


class Php(Site):
    def start(self) -> None:
        docroot = self.work / "php"
        docroot.mkdir()
        code = substituted(
            recipe("ticker_strip.php", README),
            [
                ("http://127.0.0.1:8080/v1/", f"http://127.0.0.1:{self.ticker.port}/v1/"),
                ("TICKER_FRESH = 60;", f"TICKER_FRESH = {MAX_AGE};"),
                ("TICKER_KEEP = 86400;", f"TICKER_KEEP = {DAY};"),
            ],
        )
        (docroot / "ticker_strip.php").write_text(code)
        backoff = re.search(r"^const TICKER_BACKOFF = (\d+);", code, flags=re.MULTILINE)
        assert backoff, "the PHP recipe has no TICKER_BACKOFF"
        self.after_failure = int(backoff[1]) + 0.5
        self.page_source = recipe("page.php", README)
        calls = "".join(
            f"echo '[', ticker_strip('', '{r}'), ']';\n"
            for r in ("metrics", "readyz", "openapi.json", "../metrics", "ticker.html/../../metrics")
        )
        (docroot / "internal.php").write_text(f"<?php require_once __DIR__ . '/ticker_strip.php';\n{calls}")
        php = shutil.which("php") or "/usr/bin/php"
        apcu = subprocess.run([php, "-r", "exit(extension_loaded('apcu') ? 0 : 1);"], check=False)
        if apcu.returncode != 0:
            raise RuntimeError("php has no APCu (apt-get install php-apcu)")
        self.procs.start("php", [php, "-S", f"127.0.0.1:{self.port}", "-t", str(docroot)])
        wait_until("php -S listening", lambda: get(self.url + "/", 2).status != 0)

    def includes(self, source: str) -> list[Include]:
        pattern = r"<\?= (?P<esc>htmlspecialchars\()?ticker_strip\('(?P<q>[^']*)'(?:, '(?P<r>[^']*)')?\)\)? \?>"
        return [Include(m[0], m["q"], m["r"] or "ticker.html", bool(m["esc"])) for m in re.finditer(pattern, source)]

    def static(self, source: str) -> str:
        return re.sub(r"<\?php require_once [^?]*\?>", "", source)

    def page(self, name: str, query: str | None = None) -> str:
        source = self.page_source if query is None else self.with_query(query)
        (self.work / "php" / f"{name}.php").write_text(source)
        return f"{self.url}/{name}.php"

    def probes(self) -> list[str]:
        return [*super().probes(), self.url + "/internal.php"]


SITES: dict[str, type[Site]] = {"nginx": Nginx, "varnish": Varnish, "php": Php}
