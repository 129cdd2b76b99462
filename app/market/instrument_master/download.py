"""The daily instrument file, downloaded (public: no token) from SIGNALDESK_UPSTOX_INSTRUMENTS_URL."""

from __future__ import annotations

import httpx

from app.market.instrument_master.errors import MasterDownloadError

TIMEOUT = 60.0  # seconds per read, connect and write
MAX_BYTES = 256 * 1024 * 1024  # complete.json.gz is about 20 MB; the JSON inside about 60 MB


async def download_master(url: str) -> bytes:
    """The file's bytes as served (gzip or JSON); MasterDownloadError naming the URL when not."""
    chunks: list[bytes] = []
    size = 0
    try:
        async with (
            httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=True) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                raise MasterDownloadError(url, f"HTTP {response.status_code}")
            async for chunk in response.aiter_raw():
                size += len(chunk)
                if size > MAX_BYTES:
                    raise MasterDownloadError(url, f"larger than {MAX_BYTES:,} bytes")
                chunks.append(chunk)
    except httpx.HTTPError as e:
        raise MasterDownloadError(url, f"{type(e).__name__}: {e}") from e
    return b"".join(chunks)
