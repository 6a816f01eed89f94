"""Faults injected into a real platform: an API outage on the loop's clock, a damaged partition.

Why here: the loop's fault-injection test (and anyone reproducing an incident) needs faults that
happen at *simulated* instants, while everything else stays real. :class:`OutageProxy` stands
between the loop and the real API and refuses connections while the clock file reads an instant
inside one of its windows — the API process itself keeps running, exactly as when a network or
a load balancer fails. :func:`damage_partition` truncates a stored file in place, as a full
disk or a copy cut short leaves it.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import struct
import threading
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from edip_pipeline.processes import free_port
from edip_pipeline.store import Store


def damage_partition(store: Store, dataset: str, year: int, keep_bytes: int = 4096) -> Path:
    """Truncate the current version's partition of ``year`` in place; the damaged file's path."""
    path = store.versions.current(dataset) / f"year={year}" / "part.parquet"
    with open(path, "r+b") as fh:
        fh.truncate(keep_bytes)
    return path


class OutageProxy:
    """A TCP proxy to ``target_port`` that is down while the clock file is inside a window."""

    def __init__(
        self,
        target_port: int,
        clock_file: Path,
        windows: Iterable[tuple[pd.Timestamp, pd.Timestamp]],
    ) -> None:
        self.target_port = target_port
        self.clock_file = clock_file
        self.windows = [(pd.Timestamp(a), pd.Timestamp(b)) for a, b in windows]
        self.refused = 0
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy.forward(self.request)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def down(self) -> bool:
        """Whether the loop's clock is inside an outage window now."""
        if not self.clock_file.is_file():
            return False
        now = pd.Timestamp(self.clock_file.read_text().strip())
        return any(a <= now < b for a, b in self.windows)

    def forward(self, client: socket.socket) -> None:
        if self.down():
            self.refused += 1
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.close()  # a reset, as a dead host answers
            return
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", self.target_port), timeout=300) as upstream,
        ):
            pump = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
            pump.start()
            _pump(client, upstream)
            pump.join(300)

    def __enter__(self) -> OutageProxy:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _pump(src: socket.socket, dst: socket.socket) -> None:
    """Copy bytes from ``src`` to ``dst`` until ``src`` closes, then half-close ``dst``."""
    with contextlib.suppress(OSError):
        while chunk := src.recv(65536):
            dst.sendall(chunk)
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)
