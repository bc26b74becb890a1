"""Measure the reconciliation backlog from the syncer's ``GET /backlog?shards=N``."""

from __future__ import annotations

import aiohttp

from countersync.sizing import Backlog


class BacklogUnavailable(Exception):
    """The backlog could not be measured; the message says why, for a condition and an event."""


async def measure(url: str, *, shards: int, timeout: float) -> Backlog:
    if not url:
        raise BacklogUnavailable("no backlog URL configured (COUNTERSYNC_BACKLOG_URL)")
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
            async with session.get(url, params={"shards": str(shards)}) as resp:
                if resp.status != 200:
                    raise BacklogUnavailable(f"{url} answered HTTP {resp.status}")
                data = await resp.json(content_type=None)
    except BacklogUnavailable:
        raise
    except (aiohttp.ClientError, TimeoutError, ValueError) as e:
        raise BacklogUnavailable(f"{url} unreachable: {type(e).__name__}: {e}".rstrip(": ")) from None
    try:
        return Backlog.from_json(data, shards=shards)
    except (TypeError, ValueError) as e:
        raise BacklogUnavailable(f"{url} gave an unusable answer: {e}") from None
