"""The intraday trading engine behind the `hft` channel: paper first, live only with two keys.

Layers, bottom up: `enums`, `orders`, `trades`, `costs`, `prices` (values); `brokers/` (paper, upstox,
registry); `gate` (the two keys), `risk` (limits and the order rate), `strategy` (decisions);
`journal`/`memory_journal`/`store`/`tables` (persistence); `state` (the lifecycle, the state row, the snapshot),
`outbox` (stored, then announced: the run's rows, events and state), `recovery` (reconciliation's
plan); `engine` (one run, same code live and in backtests, which carries the plan out); `service`
(the live wiring), `backtest`, `system` (the builder).
"""
