"""Prometheus metrics of the notifier (served at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter

SENT = Counter("signaldesk_notify_sent_total", "Alerts delivered to a notification URL", ["kind"])
RETRIED = Counter("signaldesk_notify_retries_total", "Alert sends that failed and were retried", ["kind"])
FAILED = Counter(
    "signaldesk_notify_failed_total", "Alerts given up on after every retry (or dropped from a full queue)", ["kind"]
)
