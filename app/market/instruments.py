"""Instrument keys as Upstox writes them: `EXCHANGE_SEGMENT|IDENTIFIER`.

The segment is upper case (`NSE_EQ`, `NSE_FO`, `NSE_INDEX`, `BSE_EQ`, `MCX_FO`, or our own such
as `INDEX`); the identifier is an ISIN, an exchange token or an index name, which may contain
spaces (`NSE_INDEX|Nifty 50`). Keys are stored exactly as given: they are identities, so
nothing is upper-cased or trimmed behind the caller's back.
"""

from __future__ import annotations

import re

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
