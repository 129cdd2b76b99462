"""The WebSocket contract's public face: the envelope, every event payload, the control frames.

Binding source: docs/websocket-contracts.md, which names this module. The models themselves
live in `app.events` (a low package, so the domains that produce events can build them);
this module re-exports all of it, so `from app.api.ws_channel_models import HftEntry` keeps
working for every program written against the contract.
"""

from app.events import *  # noqa: F403
from app.events import __all__  # noqa: F401
