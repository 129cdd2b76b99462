"""The model registry: trained models (a DB row and an artifact directory each), the promotion
gate, and the promoted model per (instrument, interval) for the predictor (registry.py)."""
