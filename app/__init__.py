"""signaldesk: ML price prediction and intraday trading of Indian equities, streamed live."""
