"""Upstox's own protobuf classes of Market Data Feed V3, from the upstox-python-sdk distribution.

The SDK ships the module protoc generated from `MarketDataFeedV3.proto` as
`upstox_client/feeder/proto/MarketDataFeedV3_pb2.py` (package
`com.upstox.marketdatafeederv3udapi.rpc.proto`: `FeedResponse`, `Feed`, `LTPC`, `OHLC`...).
Importing it by its package name would run `upstox_client/__init__.py`, which imports the SDK's
whole REST client and its dependencies (urllib3, six, websocket-client, a PyPI `uuid`), so the
SDK is installed without them and this one generated module is loaded from its file, once per
process: it puts its descriptors into protobuf's default pool. Only `protobuf` is needed to run it.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import sys
from types import ModuleType

from app.market.upstox.errors import UpstoxSdkMissing

DISTRIBUTION = "upstox-python-sdk"
GENERATED = "upstox_client/feeder/proto/MarketDataFeedV3_pb2.py"
MODULE = "app.market.upstox._market_data_feed_v3_pb2"


@functools.cache
def feed_v3() -> ModuleType:
    """The generated module: `feed_v3().FeedResponse.FromString(frame)`."""
    if MODULE in sys.modules:
        return sys.modules[MODULE]
    try:
        path = importlib.metadata.distribution(DISTRIBUTION).locate_file(GENERATED)
    except importlib.metadata.PackageNotFoundError as e:
        raise UpstoxSdkMissing(f"no {DISTRIBUTION} distribution") from e
    spec = importlib.util.spec_from_file_location(MODULE, str(path))
    if spec is None or spec.loader is None:
        raise UpstoxSdkMissing(f"no loadable {GENERATED}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except FileNotFoundError as e:
        raise UpstoxSdkMissing(f"{GENERATED} is missing from {DISTRIBUTION}") from e
    sys.modules[MODULE] = module
    return module
