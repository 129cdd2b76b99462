"""`signaldesk instruments sync`: an instrument file (a path, or downloaded) becomes the stored master."""

from __future__ import annotations

import asyncio
from pathlib import Path

from app.market.instrument_master.download import download_master
from app.market.instrument_master.errors import MasterFileError
from app.market.instrument_master.master_file import MasterRows, read_master
from app.market.instrument_master.store import InstrumentMaster


async def sync_master(master: InstrumentMaster, *, file: Path | None = None, url: str | None = None) -> MasterRows:
    """Read `file` (else download `url`), check it, and replace the stored master with it in one
    transaction. MasterFileError / MasterDownloadError leave the stored master as it was."""
    if file is not None:
        source = str(file)
        try:
            data = await asyncio.to_thread(file.read_bytes)
        except OSError as e:
            raise MasterFileError(source, f"cannot read it: {e.strerror or e}") from e
    elif url is not None:
        source, data = url, await download_master(url)
    else:
        raise ValueError("sync_master needs a file or a url")
    rows = await asyncio.to_thread(read_master, data, source)
    await master.replace(rows.rows)
    return rows
