"""One door from what a person writes to an instrument key: a key passes as it is (the master
need not hold it: the simulated market's keys, a master not yet synced), a trading symbol is
looked up in the instrument master.

A bare symbol (`RELIANCE`) is the NSE_EQ instrument of that symbol when there is one, else the
only instrument with it; `SEGMENT:SYMBOL` (`NSE_INDEX:NIFTY`) picks the segment. Case does
not matter. An unknown symbol, one named by several instruments, or any symbol while no master
is loaded is refused (UnknownInstrument, naming the text and saying what to do).
"""

from __future__ import annotations

from collections.abc import Iterable

from app.market.instrument_master.errors import SYNC_HINT, RepeatedInstrument, UnknownInstrument
from app.market.instrument_master.store import SEGMENT_ORDER, InstrumentMaster
from app.market.instruments import InstrumentSymbol, parse_instrument
from app.storage.db import Database

SHOWN_CANDIDATES = 5


async def resolve_instrument(text: str, master: InstrumentMaster) -> str:
    """The instrument key `text` names; InvalidInstrumentKey or UnknownInstrument when none."""
    parsed = parse_instrument(text)
    if isinstance(parsed, str):
        return parsed
    return await _resolve_symbol(text, parsed, master)


async def resolve_instruments(texts: Iterable[str], master: InstrumentMaster) -> list[str]:
    """Each text's key, in order; the first that cannot be resolved raises, and so do two texts
    of the same instrument (RepeatedInstrument)."""
    keys: dict[str, str] = {}
    for text in texts:
        key = await resolve_instrument(text, master)
        if key in keys:
            raise RepeatedInstrument(keys[key], text, key)
        keys[key] = text
    return list(keys)


async def resolve_at(db_url: str, texts: Iterable[str]) -> list[str]:
    """resolve_instruments against the database at `db_url` (connected to only for a symbol)."""
    db = Database(db_url)
    try:
        return await resolve_instruments(texts, InstrumentMaster(db))
    finally:
        await db.close()


async def _resolve_symbol(text: str, symbol: InstrumentSymbol, master: InstrumentMaster) -> str:
    found = await master.by_symbol(symbol.symbol, symbol.segment)
    if not found:
        if await master.count() == 0:
            raise UnknownInstrument(
                text, f"not a key, and no instrument master is loaded to look symbols up ({SYNC_HINT})"
            )
        raise UnknownInstrument(text, f"not a key and no symbol in the instrument master ({SYNC_HINT})")
    if len(found) == 1 or (symbol.segment is None and found[0].segment == SEGMENT_ORDER[0]):
        return found[0].instrument_key
    names = ", ".join(f"{i.segment}:{i.trading_symbol} ({i.instrument_key})" for i in found[:SHOWN_CANDIDATES])
    more = f" and {len(found) - SHOWN_CANDIDATES} more" if len(found) > SHOWN_CANDIDATES else ""
    raise UnknownInstrument(text, f"{len(found)} instruments have this symbol: {names}{more}; give the key")
