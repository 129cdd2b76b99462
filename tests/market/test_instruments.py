"""Instrument keys: EXCHANGE_SEGMENT|IDENTIFIER, stored exactly as given."""

from __future__ import annotations

import pytest

from app.market.errors import InvalidInstrumentKey
from app.market.instruments import parse_instrument_key


@pytest.mark.parametrize(
    "key",
    [
        "NSE_EQ|INE002A01018",
        "NSE_FO|45450",
        "NSE_INDEX|Nifty 50",
        "BSE_EQ|INE848E01016",
        "INDEX|SP500",
        "MCX_FO|435823",
    ],
)
def test_well_formed_keys_pass_unchanged(key: str) -> None:
    assert parse_instrument_key(key) == key


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("INE002A01018", "no '|'"),
        ("nse_eq|INE002A01018", "segment 'nse_eq'"),
        ("|INE002A01018", "segment ''"),
        ("NSE_EQ|", "identifier ''"),
        ("NSE_EQ|INE002A01018 ", "identifier"),
        ("NSE_EQ|A|B", "identifier 'A|B'"),
        ("NSE_EQ|" + "X" * 60, "longer than 64"),
    ],
)
def test_malformed_keys_say_what_is_wrong(key: str, reason: str) -> None:
    with pytest.raises(InvalidInstrumentKey, match="EXCHANGE_SEGMENT") as caught:
        parse_instrument_key(key)
    assert reason in caught.value.reason
