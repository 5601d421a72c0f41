"""The store's health, one flag shared by the refresher, the sync loops, /readyz and /metrics."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class StoreHealth:
    kind: str  # "memory" or "redis"
    ok: bool = True
