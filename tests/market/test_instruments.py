"""Instrument keys: EXCHANGE_SEGMENT|IDENTIFIER, stored exactly as given."""

from __future__ import annotations

import pytest

from app.market.errors import InvalidInstrumentKey
from app.market.instruments import InstrumentSymbol, parse_instrument, parse_instrument_key


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


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("NSE_EQ|INE002A01018", "NSE_EQ|INE002A01018"),
        ("RELIANCE", InstrumentSymbol("RELIANCE")),
        ("reliance", InstrumentSymbol("reliance")),
        ("M&M", InstrumentSymbol("M&M")),
        ("BAJAJ-AUTO", InstrumentSymbol("BAJAJ-AUTO")),
        ("NSE_INDEX:NIFTY", InstrumentSymbol("NIFTY", "NSE_INDEX")),
        ("NSE_FO:NIFTY FUT 30 DEC 25", InstrumentSymbol("NIFTY FUT 30 DEC 25", "NSE_FO")),
    ],
)
def test_a_person_may_name_an_instrument_by_key_or_by_symbol(text: str, parsed: object) -> None:
    assert parse_instrument(text) == parsed


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("RELIANCE!", "neither a key"),
        (" RELIANCE", "neither a key"),
        ("", "neither a key"),
        ("nse_eq:RELIANCE", "segment 'nse_eq'"),
        ("NSE_EQ:", "neither a key"),
        ("NSE_EQ|", "identifier ''"),
    ],
)
def test_text_that_is_neither_key_nor_symbol_is_refused_naming_it(text: str, reason: str) -> None:
    with pytest.raises(InvalidInstrumentKey, match=reason) as caught:
        parse_instrument(text)
    assert caught.value.text == text
