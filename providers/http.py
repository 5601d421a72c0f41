"""The one bounded read every provider fetches through: a total deadline, a byte cap, statuses and HTML."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

import aiohttp

from providers.errors import FormatError, ResponseTooLarge, UpstreamStatusError, UpstreamUnavailable


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes


def _http_date(value: str | None) -> datetime | None:
    try:
        when = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None
    return when if when is not None and when.tzinfo is not None else None


def parse_retry_after(value: str | None, sent: str | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds, or an HTTP date taken against the response's own
    ``Date`` (``sent``), so our clock is never read; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    when, now = _http_date(value), _http_date(sent)
    if when is None or now is None:
        return None
    return max(0.0, (when - now).total_seconds())


def looks_like_html(body: bytes) -> bool:
    head = body.lstrip()[:64].lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


async def read_bounded(
    session: aiohttp.ClientSession,
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float,
    max_bytes: int,
    ok_statuses: Sequence[int] = (200,),
) -> Response:
    """GET ``url`` and read at most ``max_bytes`` within ``timeout`` seconds in total.

    Any status outside ``ok_statuses`` raises UpstreamStatusError (with Retry-After); an HTML page is
    a FormatError whatever its status; a body over the cap is dropped unread past the cap.
    """
    # One timer only: aiohttp's own ClientTimeout firing in the same tick as the caller's deadline
    # swallowed the caller's cancellation, so a hang could outlast the fetch's total limit.
    no_client_timer = aiohttp.ClientTimeout()
    try:
        async with asyncio.timeout(timeout):
            async with session.get(
                url, params=params, headers=headers, timeout=no_client_timer, allow_redirects=True
            ) as resp:
                if resp.status not in ok_statuses:
                    raise UpstreamStatusError(
                        resp.status, parse_retry_after(resp.headers.get("Retry-After"), resp.headers.get("Date"))
                    )
                if resp.content_length is not None and resp.content_length > max_bytes:
                    raise ResponseTooLarge(f"Content-Length {resp.content_length} > cap {max_bytes}")
                chunks: list[bytes] = []
                size = 0
                async for chunk in resp.content.iter_chunked(65536):
                    size += len(chunk)
                    if size > max_bytes:
                        raise ResponseTooLarge(f"body exceeds cap of {max_bytes} bytes")
                    chunks.append(chunk)
                body = b"".join(chunks)
                if resp.status != 304 and looks_like_html(body):
                    raise FormatError("upstream sent an HTML page instead of data")
                return Response(resp.status, dict(resp.headers), body)
    except TimeoutError as exc:
        raise UpstreamUnavailable(f"no complete answer within {timeout:g} s") from exc
    except aiohttp.ClientPayloadError as exc:
        raise FormatError(f"truncated body: {exc}") from exc
    except aiohttp.ClientError as exc:
        raise UpstreamUnavailable(f"{type(exc).__name__}: {exc}") from exc
