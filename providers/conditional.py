"""A conditional-GET cache for upstreams that send ``Expires`` and ``Last-Modified`` (MET Norway's terms
require honouring both): nothing is asked again before ``Expires``; afterwards ``If-Modified-Since`` carries
the exact ``Last-Modified`` string, and a 304 keeps the document held."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Generic, TypeVar

from providers.base import Clock
from providers.errors import FormatError
from providers.http import Response

T = TypeVar("T")


@dataclass
class CachedDocument(Generic[T]):
    document: T
    expires: datetime | None
    last_modified: str | None


def expires_at(value: str | None) -> datetime | None:
    try:
        when = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None  # "-1", "0" or garbage: already expired
    return when if when is not None and when.tzinfo is not None else None


class ConditionalCache(Generic[T]):
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._held: dict[str, CachedDocument[T]] = {}

    def fresh(self, key: str) -> T | None:
        """The document held for ``key`` while its ``Expires`` has not passed."""
        held = self._held.get(key)
        if held and held.expires is not None and self._clock() < held.expires:
            return held.document
        return None

    def validators(self, key: str) -> dict[str, str]:
        held = self._held.get(key)
        return {"If-Modified-Since": held.last_modified} if held and held.last_modified else {}

    def update(self, key: str, response: Response, load: Callable[[bytes], T]) -> T:
        """The document a 200 brought (parsed by ``load``), or the one held for a 304; kept with its dates."""
        held = self._held.get(key)
        last_modified = response.headers.get("Last-Modified")
        if response.status == 304:
            if held is None:
                raise FormatError("304 Not Modified without a cached document")
            document, last_modified = held.document, last_modified or held.last_modified
        else:
            document = load(response.body)
        self._held[key] = CachedDocument(document, expires_at(response.headers.get("Expires")), last_modified)
        return document
