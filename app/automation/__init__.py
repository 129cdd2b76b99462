"""Automation runs on the `automation` channel (backfill, retrain, evaluate, prune, square_off)
and the schedules that start them (cron in exchange time)."""
