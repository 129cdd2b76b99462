"""Upstox as a market source: Market Data Feed V3 (protobuf over WebSocket) turned into 1-minute BarSets.

Modules: `proto` (Upstox's generated message classes), `access_token` (where the token comes from),
`rest` (authorize and intraday candles), `connection` (one feed WebSocket and its watchdog),
`minutes` (a minute's candles and the NSE 1m grid), `builder` (frames to minutes), `backfill`
(missed minutes over REST), `state` (what the source is doing), `source` (the BarSource).
See docs/upstox.md.
"""
