"""What /readyz says: each source's state and why it holds nothing current, warnings, and whether the
service is ready (every data kind has data that is current, or was current when it was stored; data that
turns stale later does not make it unready again: a stale strip beats no strip)."""

from __future__ import annotations

from datetime import datetime

from ticker.clock import astana_date
from ticker.models import HistoryProgress, Readiness, SourceReport
from ticker.policy import Policy
from ticker.settings import Settings
from ticker.store.history import stored
from ticker.store.store import Store


def report(
    settings: Settings, store: Store, now: datetime, *, tasks_down: list[str], warnings: list[str], policy: Policy
) -> Readiness:
    reports = []
    # air quality, an extra, is reported but never makes the service unready (nor its failing upstream the strip)
    ready_kinds = dict.fromkeys((kind for kind in policy.chains if kind != "air"), False)
    for kind, chain in policy.chains.items():
        for source in chain:
            entries = store.held(source).values()
            status = store.status_of(source)
            newest = store.newest_fetch(source)
            holds_current = any(policy.is_current(source, e.record, now) for e in entries)
            if kind in ready_kinds and (holds_current or any(policy.was_current(e) for e in entries)):
                ready_kinds[kind] = True
            reason = None
            if not holds_current:
                reason = policy.why_not_current(source, (e.record for e in entries), now)
                if status.failures and status.last_error:
                    reason += f"; last error: {status.last_error}"
            reports.append(
                SourceReport(
                    source=source,
                    kind=kind,
                    items=len(entries),
                    age_seconds=None if newest is None else round((now - newest).total_seconds(), 3),
                    stale=not holds_current,
                    reason=reason,
                    last_error=status.last_error if status.failures else None,
                    failures=status.failures,
                    open_until=status.open_until if status.failures else None,
                )
            )
    missing = [kind for kind, ok in ready_kinds.items() if not ok]
    reasons = [f"no current {kind} data yet" for kind in missing]
    if store.reason:  # unreachable (and why, secrets masked), or its subscription down
        reasons.append(store.reason)
    reasons += [f"background task down: {name}" for name in tasks_down]
    return Readiness(
        ready=not missing,
        reason="; ".join(reasons) or None,
        store="redis" if store.kind == "redis" else "memory",
        store_ok=store.ok,
        sources=reports,
        tasks_down=tasks_down,
        warnings=warnings,
        history=_history(settings, store, now),
    )


def _history(settings: Settings, store: Store, now: datetime) -> HistoryProgress | None:
    if not settings.history_on:
        return None
    days = settings.history.days
    return HistoryProgress(days=days, stored=stored(store.history, settings.currencies, astana_date(now), days))
