"""Training errors; each says what was wrong and what to do."""

from __future__ import annotations


class TrainingError(Exception):
    """Base of training errors."""


class TooLittleData(TrainingError):
    def __init__(self, instrument_key: str, interval: str, samples: int, needed: int, folds: int) -> None:
        self.samples = samples
        self.needed = needed
        super().__init__(
            f"too little data: {samples} usable samples of {interval} candles for {instrument_key}, "
            f"{needed} needed for {folds} walk-forward folds; backfill or import more candles"
        )
