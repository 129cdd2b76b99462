"""Alerts to people: bus events and the market's status turned into messages sent through apprise
(Telegram, Discord, Slack, ntfy, e-mail...). The notifier only listens; nothing waits for it."""
