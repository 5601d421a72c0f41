"""The store: the local copy in memory (always written first, always readable) and the shared backend behind
it (Redis: one server, Sentinel or Cluster), with the announcements that keep replicas in step. No upstream, no HTTP."""
