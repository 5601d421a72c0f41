"""Fetching: when each source is asked (the plan), one run of one source (claim, attempts, validation, keeping),
the history backfill, the cross-check and the scheduler that starts what is due. Writes only to the store."""
