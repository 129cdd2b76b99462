"""Prometheus metrics of the bus (served at /metrics by the API)."""

from __future__ import annotations

import functools

from prometheus_client import Counter, Histogram

EVENTS_PUBLISHED = Counter("signaldesk_events_published_total", "Events stored and fanned out", ["channel"])
published_on = functools.cache(EVENTS_PUBLISHED.labels)  # the child of a channel; labels() costs ~15 us a call
COMMITS = Counter("signaldesk_bus_commits_total", "Event log transactions (each holds one or more events)")
COMMIT_SECONDS = Histogram(
    "signaldesk_bus_commit_seconds",
    "Time to make one batch durable",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
