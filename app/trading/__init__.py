"""The intraday trading engine behind the `hft` channel: paper first, live only with two keys.

Layers, bottom up: `orders`, `trades`, `costs`, `prices` (values); `brokers/` (paper, upstox,
registry); `gate` (the two keys), `risk` (limits and the order rate), `strategy` (decisions);
`journal`/`store`/`tables` (persistence); `engine` (one run, same code live and in backtests),
`recovery` (reconciliation); `service` (the live wiring), `backtest`, `system` (the builder).
"""
