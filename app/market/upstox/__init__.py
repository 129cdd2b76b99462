"""Upstox as a market source: Market Data Feed V3 (protobuf over WebSocket) turned into 1-minute BarSets,
and Upstox's historical candles into the candle store.

Modules: `proto` (Upstox's generated message classes), `access_token` (where the token comes from),
`rest` (authorize, intraday and historical candles), `retry` (429s and transient failures),
`connection` (one feed WebSocket and its watchdog), `minutes` (a minute's candles and the NSE 1m
grid), `builder` (frames to minutes), `backfill` (missed minutes over REST), `history`
(historical candles into the store, span by span), `state` (what the source is doing), `source`
(the BarSource). See docs/upstox.md.
"""
