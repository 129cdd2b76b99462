"""A sample of Upstox's instrument file in its real format (field names, paise tick sizes,
epoch-millisecond expiries, string exchange tokens): about 300 rows of NSE_EQ, NSE_INDEX,
NSE_FO, BSE_EQ and MCX_FO, built here so a test can change or break any row of it."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

EXPIRY_MS = 1_767_088_799_000  # 2025-12-30 15:29:59 IST, as Upstox writes a December expiry

EQUITIES = [  # symbol, ISIN, name, short name, exchange token, tick (paise)
    ("RELIANCE", "INE002A01018", "RELIANCE INDUSTRIES LTD", "Reliance Industries", "2885", 10.0),
    ("TCS", "INE467B01029", "TATA CONSULTANCY SERV LT", "TCS", "11536", 10.0),
    ("HDFCBANK", "INE040A01034", "HDFC BANK LTD", "HDFC Bank", "1333", 5.0),
    ("INFY", "INE009A01021", "INFOSYS LIMITED", "Infosys", "1594", 10.0),
    ("ICICIBANK", "INE090A01021", "ICICI BANK LTD.", "ICICI Bank", "4963", 5.0),
    ("SBIN", "INE062A01020", "STATE BANK OF INDIA", "SBI", "3045", 5.0),
    ("M&M", "INE101A01026", "MAHINDRA & MAHINDRA LTD", "Mahindra & Mahindra", "2031", 10.0),
    ("BAJAJ-AUTO", "INE917I01010", "BAJAJ AUTO LIMITED", "Bajaj Auto", "16669", 50.0),
    ("ULTRACEMCO", "INE481G01011", "ULTRATECH CEMENT LIMITED", "UltraTech Cement", "11532", 50.0),
    ("RELINFRA", "INE036A01016", "RELIANCE INFRASTRUCTU LTD", "Reliance Infrastructure", "553", 5.0),
    ("RPOWER", "INE614G01033", "RELIANCE POWER LTD.", "Reliance Power", "15259", 1.0),
]
INDICES = [
    ("NIFTY", "Nifty 50", "26000"),
    ("BANKNIFTY", "Nifty Bank", "26009"),
    ("FINNIFTY", "Nifty Fin Service", "26037"),
]
FUTURES = [  # symbol, underlying key, lot, exchange token, tick (paise)
    ("NIFTY", "NSE_INDEX|Nifty 50", 75, "52168", 10.0),
    ("BANKNIFTY", "NSE_INDEX|Nifty Bank", 35, "52169", 20.0),
    ("RELIANCE", "NSE_EQ|INE002A01018", 500, "52217", 10.0),
    ("ULTRACEMCO", "NSE_EQ|INE481G01011", 50, "52301", 500.0),
]


def equity(
    symbol: str, isin: str, name: str, short: str, token: str, tick: float, series: str = "EQ"
) -> dict[str, Any]:
    return {
        "segment": "NSE_EQ",
        "name": name,
        "exchange": "NSE",
        "isin": isin,
        "instrument_type": series,
        "instrument_key": f"NSE_EQ|{isin}",
        "lot_size": 1,
        "freeze_quantity": 100000.0,
        "exchange_token": token,
        "tick_size": tick,
        "trading_symbol": symbol,
        "short_name": short,
        "security_type": "NORMAL",
    }


def index(symbol: str, name: str, token: str) -> dict[str, Any]:
    return {
        "segment": "NSE_INDEX",
        "name": name,
        "exchange": "NSE",
        "instrument_type": "INDEX",
        "instrument_key": f"NSE_INDEX|{name}",
        "exchange_token": token,
        "trading_symbol": symbol,
    }


def derivative(
    symbol: str, underlying: str, lot: int, token: str, tick: float, kind: str = "FUT", strike: float = 0.0
) -> dict[str, Any]:
    asset_type = "INDEX" if underlying.startswith("NSE_INDEX") else "EQUITY"
    label = "FUT" if kind == "FUT" else f"{strike:g} {kind}"
    return {
        "weekly": False,
        "segment": "NSE_FO",
        "name": symbol,
        "exchange": "NSE",
        "expiry": EXPIRY_MS,
        "instrument_type": kind,
        "asset_symbol": symbol,
        "underlying_symbol": symbol,
        "instrument_key": f"NSE_FO|{token}",
        "lot_size": lot,
        "freeze_quantity": float(lot * 24),
        "exchange_token": token,
        "minimum_lot": lot,
        "asset_key": underlying,
        "underlying_key": underlying,
        "tick_size": tick,
        "asset_type": asset_type,
        "underlying_type": asset_type,
        "trading_symbol": f"{symbol} {label} 30 DEC 25",
        "strike_price": strike,
        "qty_multiplier": 1.0,
    }


def sample_rows() -> list[dict[str, Any]]:
    """The sample, in the file's order (Upstox's files are not sorted by symbol)."""
    rows = [equity(*e) for e in EQUITIES]
    # filler: many more cash-market rows, a tenth of them in the BE (trade-for-trade) series
    for i in range(1, 241):
        isin = f"INE{i:03d}Q0101{i % 10}"
        series = "BE" if i % 10 == 0 else "EQ"
        rows.append(
            equity(f"SDSAMPLE{i:03d}", isin, f"SAMPLE INDUSTRIES {i:03d} LTD", f"Sample {i}", f"9{i:04d}", 5.0, series)
        )
    rows += [index(*i) for i in INDICES]
    rows += [derivative(*f) for f in FUTURES]
    for n, strike in enumerate(range(25500, 26500, 100)):
        for k, kind in enumerate(("CE", "PE")):
            rows.append(derivative("NIFTY", "NSE_INDEX|Nifty 50", 75, f"6{n:02d}{k}0", 5.0, kind, float(strike)))
    rows.append(
        {
            "segment": "BSE_EQ",
            "name": "RELIANCE INDUSTRIES LTD.",
            "exchange": "BSE",
            "isin": "INE002A01018",
            "instrument_type": "A",
            "instrument_key": "BSE_EQ|INE002A01018",
            "lot_size": 1,
            "freeze_quantity": 100000.0,
            "exchange_token": "500325",
            "tick_size": 5.0,
            "trading_symbol": "RELIANCE",
            "short_name": "Reliance Industries",
            "security_type": "NORMAL",
        }
    )
    rows.append(
        {
            **rows[-1],
            "instrument_key": "BSE_EQ|INE0BSE01014",
            "isin": "INE0BSE01014",
            "trading_symbol": "SDBSEONLY",
            "name": "BSE ONLY LTD.",
            "exchange_token": "543999",
        }
    )
    rows.append(
        {
            "segment": "MCX_FO",
            "name": "GOLD",
            "exchange": "MCX",
            "expiry": 1_770_285_599_000,
            "instrument_type": "FUT",
            "instrument_key": "MCX_FO|440939",
            "lot_size": 1,
            "freeze_quantity": 11.0,
            "exchange_token": "440939",
            "tick_size": 100.0,
            "trading_symbol": "GOLD FUT 05 FEB 26",
            "underlying_key": "MCX_COM|440938",
            "strike_price": 0.0,
        }
    )
    return rows


def encode(rows: list[dict[str, Any]], *, gz: bool = True) -> bytes:
    data = json.dumps(rows).encode()
    return gzip.compress(data, mtime=0) if gz else data


def write_sample(path: Path, rows: list[dict[str, Any]] | None = None, *, gz: bool = True) -> Path:
    path.write_bytes(encode(sample_rows() if rows is None else rows, gz=gz))
    return path
