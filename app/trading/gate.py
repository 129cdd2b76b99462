"""The two-key gate between the engine and real money.

Key 1, `live_trading_enabled`, comes only from the server's configuration
(SIGNALDESK_LIVE_TRADING_ENABLED): no request can set it. Key 2, `safe_mode`, is per run and
defaults to on. An order reaches a live broker only when key 1 is on AND safe mode is off.
With either key off every order goes to the paper broker, whatever broker was selected.

The gate is applied twice: when the engine picks its venue (`venue_for`), and again on every
single order right before it is sent (`check_order`), so no path that skips the first check can
get an order to a live broker.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.trading.errors import LiveTradingRefused

ENV_KEY = "SIGNALDESK_LIVE_TRADING_ENABLED"


@dataclass(frozen=True, slots=True)
class LiveGate:
    live_trading_enabled: bool

    def routes_live(self, safe_mode: bool) -> bool:
        """Both keys turned: orders may go to a live broker."""
        return self.live_trading_enabled and not safe_mode

    def check_safe_mode(self, safe_mode: bool) -> None:
        """Turning safe mode off needs live trading enabled in the configuration."""
        if not safe_mode and not self.live_trading_enabled:
            raise LiveTradingRefused(
                f"safe_mode cannot be turned off: live trading is disabled in the server's configuration ({ENV_KEY}); "
                "it can only be enabled there, never by a request"
            )

    def venue_for(self, selected_is_live: bool, safe_mode: bool) -> bool:
        """True: orders go to the selected (live) broker; False: to the paper broker."""
        return selected_is_live and self.routes_live(safe_mode)

    def check_order(self, venue_is_live: bool, safe_mode: bool) -> None:
        """The last check before any order is sent."""
        if venue_is_live and not self.routes_live(safe_mode):
            raise LiveTradingRefused(
                "an order was about to reach a live broker with "
                + ("live trading disabled" if not self.live_trading_enabled else "safe mode on")
                + "; refused"
            )
