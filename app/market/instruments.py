"""Instrument keys as Upstox writes them: `EXCHANGE_SEGMENT|IDENTIFIER`, and trading symbols.

The segment is upper case (`NSE_EQ`, `NSE_FO`, `NSE_INDEX`, `BSE_EQ`, `MCX_FO`, or our own such
as `INDEX`); the identifier is an ISIN, an exchange token or an index name, which may contain
spaces (`NSE_INDEX|Nifty 50`). Keys are stored exactly as given: they are identities, so
nothing is upper-cased or trimmed behind the caller's back.

Where a person names an instrument (a CLI option, a REST body, SIGNALDESK_MARKET_INSTRUMENTS)
a trading symbol will do as well (`RELIANCE`, `NSE_EQ:RELIANCE`): `parse_instrument` tells the
two apart, and the instrument master (app.market.instrument_master) resolves the symbol.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.market.errors import InvalidInstrumentKey

MAX_LENGTH = 64  # the width of candles.instrument_key
SEGMENT = re.compile(r"[A-Z][A-Z0-9_]{0,23}")
IDENTIFIER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9 &._:/()-]*[A-Za-z0-9)])?")


def parse_instrument_key(text: str) -> str:
    """`text` when it is a well-formed instrument key; InvalidInstrumentKey naming the fault otherwise."""
    if len(text) > MAX_LENGTH:
        raise InvalidInstrumentKey(text, f"longer than {MAX_LENGTH} characters")
    segment, bar, identifier = text.partition("|")
    if not bar:
        raise InvalidInstrumentKey(text, "no '|' between segment and identifier")
    if not SEGMENT.fullmatch(segment):
        raise InvalidInstrumentKey(text, f"segment {segment!r} is not upper-case letters, digits and _")
    if not IDENTIFIER.fullmatch(identifier):
        raise InvalidInstrumentKey(
            text, f"identifier {identifier!r} must be letters, digits, spaces or & . _ : / ( ) -, trimmed"
        )
    return text


SYMBOL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9 &._/()-]*[A-Za-z0-9)])?")
SYMBOL_MAX_LENGTH = 128  # the width of instruments.trading_symbol


@dataclass(frozen=True, slots=True)
class InstrumentSymbol:
    """A trading symbol (`RELIANCE`), optionally with its segment (`NSE_EQ:RELIANCE`); the
    instrument master turns it into a key."""

    symbol: str
    segment: str | None = None

    def __str__(self) -> str:
        return f"{self.segment}:{self.symbol}" if self.segment else self.symbol


def parse_instrument(text: str) -> str | InstrumentSymbol:
    """An instrument as a person writes it: a key (it has a `|`; checked as parse_instrument_key
    does) or a trading symbol, `SYMBOL` or `SEGMENT:SYMBOL`. InvalidInstrumentKey naming the
    fault when it is neither."""
    if "|" in text:
        return parse_instrument_key(text)
    segment, colon, symbol = text.partition(":")
    if not colon:
        segment, symbol = "", text
    elif not SEGMENT.fullmatch(segment):
        raise InvalidInstrumentKey(text, f"segment {segment!r} is not upper-case letters, digits and _")
    if len(symbol) > SYMBOL_MAX_LENGTH or not SYMBOL.fullmatch(symbol):
        raise InvalidInstrumentKey(
            text, "neither a key (no '|') nor a trading symbol (letters, digits, spaces or & . _ / ( ) -, trimmed)"
        )
    return InstrumentSymbol(symbol, segment or None)
