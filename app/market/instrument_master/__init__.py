"""Upstox's instrument master: the daily instrument file loaded into a table, searched, and used
to turn trading symbols into instrument keys and to know each instrument's tick and lot size."""
