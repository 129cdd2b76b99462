"""Training benchmark: `lgbm` on one year of 1-minute bars of one instrument, walk-forward included.

The bars come from the simulated market (250 sessions x 375 bars, seed 1); the training is
the job's own work (`app.training.worker.train_in_worker`: features, 5 walk-forward folds,
the final fit, the artifact) run in a fresh process, as a job's worker process runs it.
Reports wall seconds and the worker's peak RSS; targets <= 10 s and <= 1 GB.

Run: `python -m bench.training [--sessions 250] [--kind lgbm] [--json PATH]`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

TARGET_SECONDS = 10.0
TARGET_RSS_MB = 1024.0


def bars(sessions: int) -> tuple[np.ndarray, np.ndarray]:
    from app.market.calendar import NseCalendar
    from app.market.clock import ManualClock, last_session_open
    from app.market.simulated import SimulatedMarket, universe

    calendar = NseCalendar()
    start = last_session_open(calendar, time.time() - 400 * 86400)
    market = SimulatedMarket(ManualClock(start), instruments=universe(1), seed=1, calendar=calendar)
    made = list(itertools.islice(market.bars_from(start), sessions * 375))
    return np.array([b.open_ts for b in made]), np.array([b.close[0] for b in made])


def _train(kind: str, ts: np.ndarray, close: np.ndarray, out: Any) -> None:
    from app.jobs.worker import NullReporter
    from app.training.params import PARAMS
    from app.training.worker import TrainRequest, train_in_worker

    params = PARAMS[kind](instrument_key="NSE_EQ|INE002A01018").model_dump(mode="json")
    with tempfile.TemporaryDirectory() as artifacts:
        started = time.perf_counter()
        result = train_in_worker(TrainRequest(kind, params, ts, close, artifacts), NullReporter())
        seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    out.send(
        {
            "seconds": seconds,
            "peak_rss_mb": peak,
            "samples": result["samples"],
            "params": params,
            "mae_ratio": result["metrics"]["mae_ratio"],
        }
    )


def run(kind: str, sessions: int) -> dict[str, Any]:
    ts, close = bars(sessions)
    context = multiprocessing.get_context("forkserver")
    reader, writer = context.Pipe(duplex=False)
    process = context.Process(target=_train, args=(kind, ts, close, writer))
    process.start()
    result: dict[str, Any] = reader.recv()
    process.join()
    return {
        "kind": kind,
        "bars": len(ts),
        **result,
        "targets": {"seconds": TARGET_SECONDS, "peak_rss_mb": TARGET_RSS_MB},
        "pass": result["seconds"] <= TARGET_SECONDS and result["peak_rss_mb"] <= TARGET_RSS_MB,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.training", description=__doc__.splitlines()[0])
    p.add_argument("--kind", choices=("lgbm", "ridge"), default="lgbm")
    p.add_argument("--sessions", type=int, default=250, help="sessions of 1m bars (250: one year)")
    p.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "training.json")
    opts = p.parse_args(argv)
    result = run(opts.kind, opts.sessions)
    verdict = "PASS" if result["pass"] else "FAIL"
    print(
        f"training {result['kind']}: {result['bars']:,} bars ({result['samples']:,} samples, 5 walk-forward folds + "
        f"final fit): {result['seconds']:.2f} s, peak RSS {result['peak_rss_mb']:.0f} MB "
        f"(targets <= {TARGET_SECONDS:g} s, <= {TARGET_RSS_MB:g} MB): {verdict}"
    )
    opts.json.parent.mkdir(parents=True, exist_ok=True)
    opts.json.write_text(json.dumps(result, indent=2))
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
