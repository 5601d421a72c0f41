"""The only module that imports APScheduler: one interval job per source, the first run at start-up."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from ticker.refresh import Refresher
from ticker.settings import Settings

log = logging.getLogger(__name__)


async def run_job(refresher: Refresher, source: str) -> None:
    """The job boundary: nothing escapes into APScheduler, whatever goes wrong."""
    try:
        await refresher.run(source)
    except asyncio.CancelledError:
        log.debug("%s: run cancelled by shutdown", source)  # not an error: the scheduler is stopping
    except Exception:
        log.exception("%s: unexpected error in a fetch run; the next run will try again", source)


def start_scheduler(settings: Settings, refresher: Refresher, now: datetime) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    for source in settings.source_names:
        scheduler.add_job(
            run_job,
            IntervalTrigger(seconds=settings.source_config(source).interval, timezone="UTC"),
            args=(refresher, source),
            id=source,
            next_run_time=now,  # the first run at start-up
            max_instances=1,  # never two runs of one source at once
            coalesce=True,
            misfire_grace_time=None,
        )
    scheduler.start()
    return scheduler
