"""The promotion gate: a new model replaces the promoted one only when it is better on validation.

Rule: a candidate is promoted for its (instrument, interval) iff
1. its walk-forward validation MAE is below the zero-return baseline's on the same samples
   (`mae_ratio` < 1), and
2. there is no incumbent (or the incumbent was built on other features), or the candidate's
   `mae_ratio` is below the incumbent's.

The ratio (MAE over the baseline's MAE on the same validation samples), rather than the raw
MAE, makes models validated over different stretches comparable: a calmer period lowers
every MAE, not the ratio. Otherwise the candidate is kept in the registry, not promoted, and
the decision says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Incumbent:
    model_id: str
    metrics: dict[str, Any]
    feature_spec: str


@dataclass(frozen=True, slots=True)
class Decision:
    promoted: bool
    reason: str
    incumbent_id: str | None = None


def decide(metrics: dict[str, Any], feature_spec: str, incumbent: Incumbent | None) -> Decision:
    ratio = float(metrics["mae_ratio"])
    if not ratio < 1.0:
        return Decision(
            False,
            f"not promoted: validation MAE is {ratio:.4f}x the zero-return baseline's; it must be below 1",
            incumbent.model_id if incumbent else None,
        )
    if incumbent is None:
        return Decision(True, f"promoted: validation MAE {ratio:.4f}x the baseline's; no model was promoted before")
    if incumbent.feature_spec != feature_spec:
        return Decision(
            True,
            f"promoted: validation MAE {ratio:.4f}x the baseline's; the incumbent {incumbent.model_id} "
            "was built on other features",
            incumbent.model_id,
        )
    theirs = float(incumbent.metrics["mae_ratio"])
    if not ratio < theirs:
        return Decision(
            False,
            f"not promoted: validation MAE {ratio:.4f}x the baseline's does not beat the incumbent "
            f"{incumbent.model_id}'s {theirs:.4f}x",
            incumbent.model_id,
        )
    return Decision(
        True,
        f"promoted: validation MAE {ratio:.4f}x the baseline's "
        f"beats the incumbent {incumbent.model_id}'s {theirs:.4f}x",
        incumbent.model_id,
    )
