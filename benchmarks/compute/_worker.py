"""Runs inside a generated PyTorch project's own environment (`.venv/bin/python`), started by run.py.

    _worker.py inproc --rounds N --budget S      in-process model calls, JSON on stdout
    _worker.py serve --variant onnx|eager --port P   the project's API under uvicorn on 127.0.0.1
    _worker.py load --url U --requests N --concurrency C   bounded httpx load, JSON on stdout

The current directory is the project (params.yaml, models/, checkpoints/, data/processed/test.csv).
Both variants serve through the same `create_app(Settings(model_dir=...))`; the eager one only replaces
`load_model` (what `ServingState.start` calls) with one that returns the same `LoadedModel` record
around a torch network, so routing, validation, micro-batching and metrics are identical.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

MODEL_DIR = "models"
CHECKPOINT = Path("checkpoints") / "best.pt"
TEST_CSV = Path("data") / "processed" / "test.csv"
BATCHES = (1, 32, 256)


class EagerModel:
    """The checkpoint's network run by torch, with the `predict(rows) -> list[str]` of OnnxModel.

    It computes what the exported graph computes (the network, then a softmax; argmax picks the label).
    One intra-op thread, as the ONNX Runtime session of onnx_model.py uses, unless `threads` says more.
    """

    def __init__(self, labels: tuple[str, ...], threads: int = 1) -> None:
        import torch
        from my_ml_project.config import load_params
        from my_ml_project.features import FEATURES
        from my_ml_project.torch_model import build_model

        torch.set_num_threads(threads)
        params = load_params("params.yaml")
        network = build_model(params.train, len(FEATURES))
        network.load_state_dict(torch.load(CHECKPOINT, map_location="cpu", weights_only=True)["model"])
        self.network = network.eval()
        self.labels = labels
        self._torch = torch

    def predict(self, rows: np.ndarray) -> list[str]:
        torch = self._torch
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(rows, dtype=np.float32))
            scores = torch.softmax(self.network(x), dim=1)
        return [self.labels[i] for i in scores.argmax(dim=1).tolist()]


def load_eager(model_dir: str) -> Any:
    """`serving.model.load_model`, with the torch network in place of the ONNX session."""
    from my_ml_project.features import FEATURES
    from my_ml_project.model_files import read_metadata
    from my_ml_project.serving.model import LoadedModel, ModelNotAvailableError

    try:
        metadata = read_metadata(model_dir)
    except FileNotFoundError as exc:
        raise ModelNotAvailableError(str(exc)) from exc
    model = EagerModel(metadata.labels)
    loaded = LoadedModel(
        model=model,  # type: ignore[arg-type]  # same predict() interface as OnnxModel
        version=metadata.model_version,
        features=metadata.features,
        metadata=metadata,
    )
    loaded.predict(np.zeros((1, len(FEATURES))))  # the same warm-up load_model does
    return loaded


def test_rows() -> np.ndarray:
    from my_ml_project.features import FEATURES

    with TEST_CSV.open(newline="") as fh:
        return np.array([[float(r[name]) for name in FEATURES] for r in csv.DictReader(fh)], dtype=np.float64)


def batch_of(rows: np.ndarray, n: int) -> np.ndarray:
    return np.resize(rows, (n, rows.shape[1])).copy()


def rows_per_second(predict: Any, batch: np.ndarray, budget: float, max_calls: int = 200_000) -> float:
    """Calls `predict(batch)` for about `budget` seconds (bounded by max_calls), returns rows/s."""
    for _ in range(20):  # warm-up, unmeasured
        predict(batch)
    calls = 0
    started = time.perf_counter()
    deadline = started + budget
    while calls < max_calls:
        predict(batch)
        calls += 1
        if calls % 10 == 0 and time.perf_counter() >= deadline:
            break
    return calls * len(batch) / (time.perf_counter() - started)


def inproc(rounds: int, budget: float) -> dict[str, Any]:
    import torch
    from my_ml_project.serving.model import load_model

    default_threads = torch.get_num_threads()  # torch's default: one per core it sees
    started = time.perf_counter()
    onnx = load_model(MODEL_DIR)
    onnx_load = time.perf_counter() - started
    started = time.perf_counter()
    eager = load_eager(MODEL_DIR)  # sets torch to 1 thread
    eager_load = time.perf_counter() - started

    rows = test_rows()
    agree = onnx.predict(rows) == eager.predict(rows)
    # name -> (predict, torch threads while it runs)
    variants = {
        "onnx": (onnx.predict, 1),
        "eager": (eager.predict, 1),
        f"eager ({default_threads} torch threads)": (eager.predict, default_threads),
    }
    samples: dict[str, dict[int, list[float]]] = {v: {b: [] for b in BATCHES} for v in variants}
    for _ in range(rounds):
        for size in BATCHES:
            batch = batch_of(rows, size)
            for name, (predict, threads) in variants.items():  # round-robin within every round
                torch.set_num_threads(threads)
                samples[name][size].append(rows_per_second(predict, batch, budget))
    torch.set_num_threads(1)
    return {
        "labels_agree_on_test_rows": agree,
        "test_rows": len(rows),
        "load_seconds": {"onnx": onnx_load, "eager": eager_load},
        "torch_version": torch.__version__,
        "python": sys.version.split()[0],
        "rows_per_s": {
            name: {str(size): {"median": statistics.median(v), "samples": v} for size, v in per.items()}
            for name, per in samples.items()
        },
    }


def serve(variant: str, port: int) -> None:
    import uvicorn
    from my_ml_project.config import Settings
    from my_ml_project.serving import app as app_module

    if variant == "eager":
        app_module.load_model = load_eager  # type: ignore[assignment]
    settings = Settings(model_dir=MODEL_DIR)
    app = app_module.create_app(settings)
    # As the project's `serve` command runs it: its log level, no access log.
    uvicorn.run(app, host="127.0.0.1", port=port, log_level=settings.log_level, access_log=False)


async def _load(url: str, requests: int, concurrency: int, warmup: int) -> dict[str, Any]:
    import httpx

    body = {"instances": [{"sepal_length": 5.9, "sepal_width": 3.0, "petal_length": 5.1, "petal_width": 1.8}]}
    latencies: list[float] = []
    errors = 0
    counter = iter(range(requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=10.0, limits=limits) as client:
        for _ in range(warmup):  # unmeasured: connections opened, first-call paths taken
            await client.post(url, json=body)

        async def worker() -> None:
            nonlocal errors
            for _ in counter:  # shared bounded iterator: exactly `requests` requests in all
                t0 = time.perf_counter()
                try:
                    reply = await client.post(url, json=body)
                    ok = reply.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - t0)
                errors += not ok

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": requests,
        "concurrency": concurrency,
        "seconds": elapsed,
        "req_per_s": requests / elapsed,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("inproc")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--budget", type=float, default=0.5)
    p = sub.add_parser("serve")
    p.add_argument("--variant", choices=("onnx", "eager"), required=True)
    p.add_argument("--port", type=int, required=True)
    p = sub.add_parser("load")
    p.add_argument("--url", required=True)
    p.add_argument("--requests", type=int, required=True)
    p.add_argument("--concurrency", type=int, required=True)
    p.add_argument("--warmup", type=int, default=50)
    args = parser.parse_args()
    if args.mode == "inproc":
        json.dump(inproc(args.rounds, args.budget), sys.stdout)
    elif args.mode == "serve":
        serve(args.variant, args.port)
    else:
        json.dump(asyncio.run(_load(args.url, args.requests, args.concurrency, args.warmup)), sys.stdout)


if __name__ == "__main__":
    main()
