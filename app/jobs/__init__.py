"""The job system: persisted jobs, a runner with per-lane concurrency, timeouts, cancellation,
and CPU-heavy work in worker processes (see runner.py)."""
