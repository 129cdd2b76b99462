"""Brokers behind one interface: `paper` (simulated fills, persisted) and live ones (`upstox`)."""
