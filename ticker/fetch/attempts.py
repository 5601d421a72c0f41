"""One fetch with bounded retries: only transient errors (timeouts, 5xx, 429) are tried again, with full
jitter, never past the run's total time, and Retry-After is honoured by not coming back within the run.
The pause is injectable, so tests record the pauses asked for instead of sleeping (after hynek/stamina)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date

import aiohttp

from providers.base import Provider, Record
from providers.errors import ProviderError


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 5.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))  # full jitter


async def fetch_with_retries(
    provider: Provider,
    session: aiohttp.ClientSession,
    day: date,
    timeout: float,
    retry: RetryPolicy,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Sequence[Record]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout * retry.attempts + retry.max_delay * (retry.attempts - 1)  # room for pauses
    for attempt in range(retry.attempts):
        try:
            async with asyncio.timeout(timeout):
                return await provider.fetch(session, day)
        except TimeoutError as exc:
            error: ProviderError = ProviderError(f"no answer within {timeout:g} s")
            error.transient = True
            if attempt + 1 >= retry.attempts:
                raise error from exc
        except ProviderError as exc:
            error = exc
            if not exc.transient or attempt + 1 >= retry.attempts:
                raise
        pause = retry.delay(attempt, error.retry_after)
        if loop.time() + pause + timeout > deadline:
            raise error  # honour Retry-After by not coming back in this run
        await sleep(pause)
    raise AssertionError("unreachable")
