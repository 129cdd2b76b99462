"""Single moments (query bounds): epoch seconds or ms, or ISO-8601 with an offset."""

from __future__ import annotations

import pytest

from app.market.timestamps import iso, parse_moment


@pytest.mark.parametrize(
    ("text", "ts"),
    [
        ("1795491900", 1795491900),
        ("1795491900000", 1795491900),
        ("2026-11-24T09:15:00+05:30", 1795491900),
        ("2026-11-24 03:45:00Z", 1795491900),
        ("2026-11-23T22:45:00-05:00", 1795491900),
    ],
)
def test_moments(text: str, ts: int) -> None:
    assert parse_moment(text) == ts
    assert iso(ts) == "2026-11-24T03:45:00Z"


@pytest.mark.parametrize("text", ["2026-11-24", "2026-11-24T09:15:00", "yesterday", "1.5", "2026-13-01T00:00:00Z"])
def test_refused_moments(text: str) -> None:
    with pytest.raises(ValueError, match=repr(text).replace("(", r"\(")):
        parse_moment(text)
