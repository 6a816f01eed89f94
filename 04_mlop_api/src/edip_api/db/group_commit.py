"""Requests waiting for their batch's durability (group commit), woken from the writer thread.

Why: an answered forecast must be durably logged before its answer leaves, yet one commit (one
``fsync``) per request caps the API at the disk's sync rate. The writer commits whatever arrived
while the previous commit ran, then wakes every request that batch covered: one commit for the
requests that arrived together. Waiting happens on the event loop (a future per request, woken
by one ``call_soon_threadsafe`` per loop and batch) so no threadpool thread sits blocked.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import defaultdict

Waiter = tuple[int, int, asyncio.AbstractEventLoop, "asyncio.Future[None]"]


class DurableWaiters:
    """Futures keyed by the sequence number (records submitted) each request waits for.

    Not thread-safe on its own: the writer calls :meth:`add` and :meth:`pop_ready` under its lock.
    """

    def __init__(self) -> None:
        self._heap: list[Waiter] = []
        self._order = itertools.count()  # ties: futures are not comparable

    def __len__(self) -> int:
        return len(self._heap)

    def add(self, seq: int, loop: asyncio.AbstractEventLoop) -> asyncio.Future[None]:
        """A future resolved once the first ``seq`` records are durable."""
        future: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._heap, (seq, next(self._order), loop, future))
        return future

    def pop_ready(
        self, durable_seq: int
    ) -> dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]]:
        """The futures covered by ``durable_seq``, grouped by their event loop."""
        ready: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = defaultdict(list)
        while self._heap and self._heap[0][0] <= durable_seq:
            _, _, loop, future = heapq.heappop(self._heap)
            ready[loop].append(future)
        return ready


def wake(ready: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]]) -> None:
    """Resolve the futures on their own loops (one thread-safe call per loop)."""
    for loop, futures in ready.items():
        try:
            loop.call_soon_threadsafe(_resolve, futures)
        except RuntimeError:  # the loop closed (its requests are gone)
            continue


def _resolve(futures: list[asyncio.Future[None]]) -> None:
    for future in futures:
        if not future.done():  # a request that timed out cancelled its future
            future.set_result(None)


async def until_resolved(
    future: asyncio.Future[None], timeout_s: float, late: BaseException
) -> None:
    """Await ``future``; past ``timeout_s`` it fails with ``late``. A timer rather than
    ``asyncio.timeout``: no context manager and no task cancellation bookkeeping per request."""
    timer = future.get_loop().call_later(timeout_s, _fail, future, late)
    try:
        await future
    finally:
        timer.cancel()


def _fail(future: asyncio.Future[None], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
