"""Micro-batching behind a bounded queue: concurrent requests share one model call, and a request the
model cannot reach in time is refused at once instead of answered late.

A model call costs about the same for 1 row as for 32 (per-call overhead dominates), so under load the
batcher takes what is queued, yields once to let requests that arrived together join, and predicts up
to `max_rows` rows in one call. There is no wait timer, so a lone request is not delayed. The model
runs in a worker thread, never inline on the event loop.

The queue is bounded twice (0 turns a bound off):
- by rows (`max_queue_rows`): a request that would take the queue past it is refused (`queue_full`);
  an empty queue admits any request, so one request of the largest allowed size always fits;
- by waiting time (`max_queue_wait`, seconds): while the oldest queued request has waited longer, new
  requests are refused (`queue_wait`), and a request that waited longer when its turn comes is refused
  instead of predicted (its caller has likely given up).

A caller that went away (a deadline, a closed connection) cancels its future: its rows are skipped.
`stop()` lets what is queued finish before the batcher ends; requests after it are refused
(`shutting_down`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

PredictFn = Callable[[np.ndarray], list[str]]


class OverloadedError(Exception):
    """The request was refused without reaching the model; `reason` names the bound it hit."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(eq=False)
class _Pending:
    rows: np.ndarray
    future: asyncio.Future[list[str]]
    queued_at: float = field(default_factory=time.monotonic)


class MicroBatcher:
    def __init__(
        self,
        predict: PredictFn,
        max_rows: int = 64,
        on_batch: Callable[[int], None] | None = None,
        *,
        max_queue_rows: int = 0,
        max_queue_wait: float = 0.0,
        on_queue: Callable[[int], None] | None = None,
        on_refuse: Callable[[str], None] | None = None,
    ) -> None:
        self._predict = predict
        self._max_rows = max_rows
        self._on_batch = on_batch
        self._max_queue_rows = max_queue_rows
        self._max_queue_wait = max_queue_wait
        self._on_queue = on_queue
        self._on_refuse = on_refuse
        self._pending: deque[_Pending] = deque()
        self._queued_rows = 0
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._busy = False  # a batch is being assembled or predicted

    @property
    def queued_rows(self) -> int:
        return self._queued_rows

    async def start(self) -> None:
        self._closing = False
        self._task = asyncio.create_task(self._run(), name="micro-batcher")

    async def stop(self, timeout: float = 10.0) -> None:
        """Refuse new requests, let the queued ones finish (up to `timeout` seconds), then end."""
        self._closing = True
        if self._task is None:
            return
        deadline = time.monotonic() + timeout
        while (self._pending or self._busy) and time.monotonic() < deadline and not self._task.done():
            await asyncio.sleep(0.01)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        self._fail_queued(OverloadedError("shutting_down", "the server is shutting down"))

    async def predict(self, rows: np.ndarray) -> list[str]:
        if self._task is None or self._closing:
            self._refuse("shutting_down", "the server is shutting down")
        size = len(rows)
        if self._pending:
            if self._max_queue_rows and self._queued_rows + size > self._max_queue_rows:
                self._refuse(
                    "queue_full",
                    f"{self._queued_rows} rows are waiting for the model (the bound is {self._max_queue_rows})",
                )
            if self._max_queue_wait and time.monotonic() - self._pending[0].queued_at > self._max_queue_wait:
                self._refuse(
                    "queue_wait",
                    f"requests wait longer than {self._max_queue_wait * 1000:g} ms for the model",
                )
        item = _Pending(rows, asyncio.get_running_loop().create_future())
        self._pending.append(item)
        self._queued(size)
        self._wakeup.set()
        return await item.future

    def _refuse(self, reason: str, message: str) -> None:
        if self._on_refuse is not None:
            self._on_refuse(reason)
        raise OverloadedError(reason, message)

    def _queued(self, delta: int) -> None:
        self._queued_rows += delta
        if self._on_queue is not None:
            self._on_queue(self._queued_rows)

    async def _run(self) -> None:
        while True:
            if not self._pending:
                self._wakeup.clear()
                await self._wakeup.wait()
            self._busy = True
            batch: list[_Pending] = []
            try:
                await asyncio.sleep(0)  # let requests that arrived together join this batch
                batch = self._take()
                if batch:
                    await self._run_batch(batch)
            except asyncio.CancelledError:
                _fail(batch, OverloadedError("shutting_down", "the server is shutting down"))
                raise
            except Exception as exc:  # this batch fails; the loop keeps serving the next
                _fail(batch, exc)
            finally:
                self._busy = False

    def _take(self) -> list[_Pending]:
        """Up to `max_rows` rows of requests still waiting; the expired ones are refused."""
        batch: list[_Pending] = []
        rows = 0
        now = time.monotonic()
        taken = 0
        while self._pending and (not batch or rows + len(self._pending[0].rows) <= self._max_rows):
            item = self._pending.popleft()
            taken += len(item.rows)
            if item.future.done():  # its caller went away
                continue
            if self._max_queue_wait and now - item.queued_at > self._max_queue_wait:
                if self._on_refuse is not None:
                    self._on_refuse("queue_wait")
                item.future.set_exception(
                    OverloadedError(
                        "queue_wait",
                        f"the request waited longer than {self._max_queue_wait * 1000:g} ms for the model",
                    )
                )
                continue
            batch.append(item)
            rows += len(item.rows)
        if taken:
            self._queued(-taken)
        return batch

    async def _run_batch(self, batch: list[_Pending]) -> None:
        stacked = np.concatenate([item.rows for item in batch]) if len(batch) > 1 else batch[0].rows
        if self._on_batch is not None:
            self._on_batch(len(stacked))
        labels = await asyncio.to_thread(self._predict, stacked)
        if len(labels) != len(stacked):
            raise RuntimeError(f"the model returned {len(labels)} labels for {len(stacked)} rows")
        start = 0
        for item in batch:
            if not item.future.done():  # a caller that went away has cancelled its future
                item.future.set_result(labels[start : start + len(item.rows)])
            start += len(item.rows)

    def _fail_queued(self, exc: BaseException) -> None:
        while self._pending:
            item = self._pending.popleft()
            self._queued(-len(item.rows))
            if not item.future.done():
                item.future.set_exception(exc)


def _fail(batch: list[_Pending], exc: BaseException) -> None:
    """Every request of a failed batch gets the error: while assembling, predicting or answering."""
    for item in batch:
        if not item.future.done():
            item.future.set_exception(exc)
