"""The predictor: forecasts log returns, resolves each forecast against what happened, and
calibrates itself online. One vectorised core (`core.py`) runs live and in backtests."""
