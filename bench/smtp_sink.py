"""A local SMTP sink: accepts every message, keeps none, counts them.

Run as ``python -m bench.smtp_sink --status FILE``. It listens on 127.0.0.1 (a free port) and
keeps ``FILE`` up to date with ``{"port", "count", "last"}``: ``last`` is the wall-clock time
the latest message was accepted, so throughput is measured to the message, not to the poll.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP

# How often the status file is rewritten while messages arrive.
FLUSH_SECONDS = 0.05


class CountingHandler:
    def __init__(self) -> None:
        self.count = 0
        self.last = 0.0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        self.last = time.time()
        return "250 Message accepted"


def _write_status(path: Path, payload: dict[str, float | int]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload))
    os.replace(tmp, path)


async def _serve(status: Path) -> None:
    handler = CountingHandler()
    loop = asyncio.get_running_loop()
    # A fixed hostname: the default looks up the machine's FQDN, which can stall on DNS.
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="bench-sink", data_size_limit=0),
        host="127.0.0.1",
        port=0,
    )
    port = server.sockets[0].getsockname()[1]
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    written = -1
    while not stop.is_set():
        if handler.count != written:
            written = handler.count
            _write_status(status, {"port": port, "count": written, "last": handler.last})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), FLUSH_SECONDS)
    server.close()


@dataclass(frozen=True)
class SinkStatus:
    port: int
    count: int
    last: float


def read_status(path: Path) -> SinkStatus | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return SinkStatus(port=int(data["port"]), count=int(data["count"]), last=float(data["last"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--status", type=Path, required=True)
    args = parser.parse_args()
    asyncio.run(_serve(args.status))


if __name__ == "__main__":
    main()
