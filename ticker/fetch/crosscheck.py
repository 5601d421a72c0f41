"""Compare the primary rates with the cross-check source's for the same date (NBK against CBR's cross
rates through the rouble): a quant slip or a mislabelled item shows up as a divergence, named in /readyz
and /metrics and logged when it starts and stops. The primary stays the source shown: it is official."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from providers.base import Rate
from ticker.clock import Clock, astana_date
from ticker.policy import Policy
from ticker.settings import Settings
from ticker.state import Holdings, rate_key

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Divergence:
    currency: str
    source: str
    rate: float
    cross_source: str
    cross: float

    @property
    def ratio(self) -> float:
        return abs(self.rate / self.cross - 1)

    def describe(self) -> str:
        return (
            f"{self.currency}: {self.source} {self.rate:.2f} vs {self.cross_source} cross {self.cross:.2f} "
            f"({self.ratio * 100:.1f} % apart)"
        )


def compare(settings: Settings, policy: Policy, holdings: Holdings, now: datetime) -> list[Divergence]:
    """Every currency that both the primary and a later rate source hold for today's date."""
    primary, *others = policy.chains["rates"]
    day = astana_date(now)
    out = []
    for currency in settings.currencies:
        key = rate_key(currency, day)
        mine = holdings.held(primary).get(key)
        if mine is None or not isinstance(mine.record, Rate):
            continue
        for other in others:
            theirs = holdings.held(other).get(key)
            if theirs is not None and isinstance(theirs.record, Rate) and theirs.record.rate > 0:
                out.append(Divergence(currency, primary, mine.record.rate, other, theirs.record.rate))
                break
    return out


class CrossCheck:
    """Listens to the store; logs one line when a currency starts or stops diverging."""

    def __init__(self, settings: Settings, holdings: Holdings, clock: Clock, policy: Policy | None = None) -> None:
        self.tolerance = settings.cross_check.tolerance
        self.settings = settings
        self.holdings = holdings
        self.policy = policy or Policy(settings)
        self.clock = clock
        self.diverging: set[str] = set()

    def all(self) -> list[Divergence]:
        return compare(self.settings, self.policy, self.holdings, self.clock())

    def warnings(self) -> list[str]:
        return [d.describe() for d in self.all() if d.ratio > self.tolerance]

    def changed(self) -> None:
        found = {d.currency: d for d in self.all()}
        now_diverging = {code for code, d in found.items() if d.ratio > self.tolerance}
        for code in sorted(now_diverging - self.diverging):
            log.warning("cross-check: %s", found[code].describe(), extra={"currency": code})
        for code in sorted(self.diverging - now_diverging):
            log.info("cross-check: %s agrees again with %s", code, self.settings.rate_sources[1:])
        self.diverging = now_diverging
