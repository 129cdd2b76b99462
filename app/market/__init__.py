"""Market data: intervals, the NSE trading calendar, candles, and live/simulated/replayed feeds."""
