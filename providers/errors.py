"""The error tree every provider raises: anything that makes a fetch unusable is a ``ProviderError``, and
``transient`` says whether it is worth a retry (the fetcher reads nothing else)."""

from __future__ import annotations


class ProviderError(Exception):
    """Anything that makes a fetch unusable. ``transient`` errors are worth a retry."""

    transient = False
    retry_after: float | None = None


class UpstreamStatusError(ProviderError):
    def __init__(self, status: int, retry_after: float | None = None) -> None:
        super().__init__(f"upstream answered HTTP {status}")
        self.status = status
        self.retry_after = retry_after
        self.transient = status == 429 or status >= 500


class UpstreamUnavailable(ProviderError):
    """Connection refused, reset, DNS failure or timeout."""

    transient = True


class ResponseTooLarge(ProviderError):
    pass


class FormatError(ProviderError):
    """The bytes are not the document we expect (HTML, truncated, wrong root, no items, bad numbers)."""
