"""The soak's integrity check (bench.soak.check): a subscriber's ids against the stored ones.

The soak itself is a benchmark (`make soak`, minutes long); this proves only that the part deciding
"lost" and "duplicated" counts what it must, over the span each subscriber covered.
"""

from __future__ import annotations

from array import array

from bench.soak import Subscriber, check


def subscriber(idx: int, channel: str, first_head: int, ids: list[int]) -> Subscriber:
    sub = Subscriber(idx, channel, soak=None)  # type: ignore[arg-type]  (check reads no soak)
    sub.first_head = first_head
    sub.ids.extend(ids)
    return sub


STORED = {"hft": array("q", [3, 5, 8, 9, 12, 15]), "training": array("q", [4, 6])}
TARGETS = {"hft": 12, "training": 6}


def test_a_complete_stream_over_its_span_passes() -> None:
    # joined after id 5: owes 8, 9, 12; 15 came after the end (beyond the target) and is fine
    result = check([subscriber(0, "hft", 5, [8, 9, 12, 15]), subscriber(1, "training", 0, [4, 6])], STORED, TARGETS)
    assert (result["lost"], result["duplicated"], result["steps_back"], result["not_stored"]) == (0, 0, 0, 0)


def test_a_gap_a_duplicate_and_an_unknown_id_are_counted() -> None:
    result = check([subscriber(0, "hft", 5, [8, 9, 9, 10])], STORED, TARGETS)
    assert result["lost"] == 1  # 12
    assert result["duplicated"] == 1  # 9 twice
    assert result["steps_back"] == 1
    assert result["not_stored"] == 1  # 10 is no stored hft event
    assert result["examples"] == ["subscriber 0 (hft): 1 missing, 1 duplicate"]


def test_a_subscriber_that_never_connected_owes_nothing() -> None:
    never = Subscriber(0, "hft", soak=None)  # type: ignore[arg-type]
    assert check([never], STORED, TARGETS)["lost"] == 0
