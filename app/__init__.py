"""signaldesk: ML price prediction and intraday trading of Indian equities, streamed live."""

from app.trading.native import guard

guard()  # the compiled engine only when it was compiled from these sources (app.trading.native)
