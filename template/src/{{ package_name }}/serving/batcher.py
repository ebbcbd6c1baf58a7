"""Micro-batching: concurrent requests share one model call.

A model call costs about the same for 1 row as for 32 (per-call overhead dominates), so under load the
batcher takes one queued request, yields once to let others arrive, drains what is queued (up to
`max_rows`) and predicts them together. There is no wait timer, so a lone request is not delayed. The
model runs in a worker thread, never inline on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import numpy as np

PredictFn = Callable[[np.ndarray], list[str]]


class MicroBatcher:
    def __init__(
        self,
        predict: PredictFn,
        max_rows: int = 64,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self._predict = predict
        self._max_rows = max_rows
        self._on_batch = on_batch
        self._queue: asyncio.Queue[tuple[np.ndarray, asyncio.Future[list[str]]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="micro-batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def predict(self, rows: np.ndarray) -> list[str]:
        if self._task is None:
            raise RuntimeError("the batcher is not running")
        future: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
        await self._queue.put((rows, future))
        return await future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            try:
                await asyncio.sleep(0)  # let requests that arrived together join this batch
                rows = len(batch[0][0])
                while rows < self._max_rows and not self._queue.empty():
                    item = self._queue.get_nowait()
                    batch.append(item)
                    rows += len(item[0])
                await self._run_batch(batch)
            except asyncio.CancelledError:
                _fail(batch, RuntimeError("the batcher stopped"))
                raise
            except Exception as exc:  # this batch fails; the loop keeps serving the next
                _fail(batch, exc)

    async def _run_batch(self, batch: list[tuple[np.ndarray, asyncio.Future[list[str]]]]) -> None:
        stacked = np.concatenate([rows for rows, _ in batch]) if len(batch) > 1 else batch[0][0]
        if self._on_batch is not None:
            self._on_batch(len(stacked))
        labels = await asyncio.to_thread(self._predict, stacked)
        if len(labels) != len(stacked):
            raise RuntimeError(f"the model returned {len(labels)} labels for {len(stacked)} rows")
        start = 0
        for rows, future in batch:
            if not future.done():  # a caller that went away has cancelled its future
                future.set_result(labels[start : start + len(rows)])
            start += len(rows)


def _fail(batch: list[tuple[np.ndarray, asyncio.Future[list[str]]]], exc: BaseException) -> None:
    """Every request of a failed batch gets the error: while assembling, predicting or answering."""
    for _, future in batch:
        if not future.done():
            future.set_exception(exc)
