"""The only module that imports APScheduler: one job that starts whatever the plan says is due.

The freshness policy (``Policy.plan`` in ticker/policy.py) decides from the injected clock and the store's
local copy when each source is asked next; APScheduler is the metronome that looks every second, so a run
starts within a second of its planned instant whatever the process clock shows, and a run in flight never
blocks the others.
"""

from __future__ import annotations

import asyncio
import logging

from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN, SchedulerEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from ticker.fetch.refresh import Refresher

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


async def stop_scheduler(scheduler: AsyncIOScheduler, timeout: float = 5) -> None:
    """Stop ticking without a CancelledError traceback in the log.

    AsyncIOScheduler.shutdown() only schedules the shutdown for the loop's next turn, and the shutdown cancels
    the tick tasks not yet started. On a busy loop (thousands of streams closing) a tick created in between
    was cancelled before its first step, and APScheduler logged "Error running job" with the CancelledError.
    So: remove the job (no new ticks), let a tick already created run (it never suspends), then shut down
    and wait until that has happened."""
    stopped = asyncio.get_running_loop().create_future()

    def on_shutdown(_event: SchedulerEvent) -> None:
        if not stopped.done():
            stopped.set_result(None)

    scheduler.add_listener(on_shutdown, EVENT_SCHEDULER_SHUTDOWN)
    if scheduler.get_job("tick") is not None:
        scheduler.remove_job("tick")
    await asyncio.sleep(0)  # a tick task created before the removal takes its one step now
    scheduler.shutdown(wait=False)
    try:
        await asyncio.wait_for(stopped, timeout)
    except TimeoutError:
        log.warning("the scheduler did not confirm its shutdown within %.0f s", timeout)
