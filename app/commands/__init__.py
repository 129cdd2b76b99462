"""Command groups of the `signaldesk` CLI beyond `serve` (see app/cli.py)."""
