"""The only module that imports APScheduler: one job that starts whatever the plan says is due.

The plan (ticker/plan.py) decides from the injected clock and the store's local copy when each source is
asked next; APScheduler is the metronome that looks every second, so a run starts within a second of
its planned instant whatever the process clock shows, and a run in flight never blocks the others.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from ticker.refresh import Refresher

log = logging.getLogger(__name__)
TICK_SECONDS = 1.0


async def tick(refresher: Refresher) -> None:
    """The job boundary: nothing escapes into APScheduler, whatever goes wrong."""
    try:
        refresher.poke()
    except Exception:  # the job boundary
        log.exception("unexpected error while starting the due fetches; the next tick tries again")


def start_scheduler(refresher: Refresher) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        tick,
        IntervalTrigger(seconds=TICK_SECONDS, timezone="UTC"),
        args=(refresher,),
        id="tick",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
    )
    scheduler.start()
    refresher.poke()  # the first runs at start-up, not a tick later
    return scheduler
