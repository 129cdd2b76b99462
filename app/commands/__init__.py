"""Command groups of the `signaldesk` CLI beyond `serve` (see app/cli.py); settings.py holds
what every command starts with.

A command imports the heavy parts it drives (pandas, SQLAlchemy, the trading and job systems)
inside its function: `signaldesk --help`, and every other command, does not pay for them.
"""
