"""Prometheus metrics of the API and the ASGI middleware that records them.

Metric names are part of the monitoring contract: the alert rules and the Grafana dashboard use them.

With several worker processes (WORKERS > 1) prometheus-client runs in multiprocess mode: counters,
histograms and gauges live in files under PROMETHEUS_MULTIPROC_DIR and /metrics adds them up over every
worker; `model_info`, `event_loop_tasks` and the `process_*` metrics describe the worker that answers.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class InfoMetric(Collector):
    """A gauge of value 1 whose labels describe the served model: `version` (the content hash of its
    file) and whatever else the API knows about it (serving/app.py). Prometheus treats an absent label
    like an empty one, so `max by (version) (model_info)` finds the model whichever labels it has."""

    def __init__(self, name: str, documentation: str, registry: CollectorRegistry) -> None:
        self._name = name
        self._documentation = documentation
        self._labels: dict[str, str] = {}
        registry.register(self)

    def set(self, labels: dict[str, str]) -> None:
        self._labels = dict(labels)

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(self._name, self._documentation, labels=list(self._labels))
        if self._labels:
            family.add_metric(list(self._labels.values()), 1)
        yield family


class EventLoopTasks(Collector):
    """The asyncio tasks of the serving event loop: steady under steady load, growing when requests leak."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        registry.register(self)

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily("event_loop_tasks", "Asyncio tasks of this worker's event loop")
        if self.loop is not None:
            family.add_metric([], len(asyncio.all_tasks(self.loop)))
        yield family


def multiprocess_dir() -> str | None:
    """The folder of multiprocess mode, when prometheus-client was imported with one set."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def forget_dead_workers(path: str) -> None:
    """Drop the gauge files of worker processes that are gone (a restarted worker has a new PID)."""
    pids = {int(m.group(1)) for f in Path(path).glob("gauge_live*_*.db") if (m := _PID.search(f.name))}
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, path)  # type: ignore[no-untyped-call]
        except PermissionError:  # alive, another user's
            continue


_PID = re.compile(r"_(\d+)\.db$")


class ApiMetrics:
    """One registry per app, so tests and several apps in one process do not share counters."""

    def __init__(self) -> None:
        # What /metrics exposes. In multiprocess mode the values live in files that every worker writes
        # and the exposition reads them all; the metric objects then register in a registry of their own.
        self.registry = CollectorRegistry()
        shared = multiprocess_dir()
        values = self.registry
        if shared is not None:
            multiprocess.MultiProcessCollector(self.registry, path=shared)  # type: ignore[no-untyped-call]
            values = CollectorRegistry()
        self.requests = Counter(
            "http_requests",
            "HTTP requests by method, route template and status code",
            ("method", "route", "status"),
            registry=values,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency by method and route template",
            ("method", "route"),
            buckets=LATENCY_BUCKETS,
            registry=values,
        )
        self.predictions = Counter("model_predictions", "Predicted labels", ("label",), registry=values)
        self.prediction_errors = Counter(
            "model_prediction_errors", "Model calls that raised", registry=values
        )
        self.batch_size = Histogram(
            "model_prediction_batch_size",
            "Rows per model call (micro-batches merge concurrent requests)",
            buckets=BATCH_BUCKETS,
            registry=values,
        )
        self.requests_shed = Counter(
            "model_requests_shed",
            "Prediction requests answered without a prediction, by reason: queue_full, queue_wait, "
            "loop_lag (503, the queue's bounds and the server's own backlog), deadline (504), "
            "shutting_down (503)",
            ("reason",),
            registry=values,
        )
        for reason in ("queue_full", "queue_wait", "loop_lag", "deadline", "shutting_down"):
            self.requests_shed.labels(reason=reason)  # every series exists from the start, at 0
        self.queue_rows = Gauge(
            "model_queue_rows",
            "Rows waiting for the model",
            registry=values,
            multiprocess_mode="livesum",
        )
        self.loop_lag = Gauge(
            "event_loop_lag_seconds",
            "How late the event loop ran its last probe timer: the wait before a request is read",
            registry=values,
            multiprocess_mode="livemax",
        )
        self.model_ready = Gauge(
            "model_ready",
            "1 when a model is loaded and warmed up (and the worker is not shutting down)",
            registry=values,
            multiprocess_mode="livemax",
        )
        # Per process, also in multiprocess mode: the answering worker's.
        self.model_info = InfoMetric(
            "model_info", "The served model version (value is always 1)", registry=self.registry
        )
        self.loop_tasks = EventLoopTasks(self.registry)
        ProcessCollector(registry=self.registry)

    def record_predictions(self, labels: Iterable[str]) -> None:
        counts: dict[str, int] = {}
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
        for label, count in counts.items():
            self.predictions.labels(label=label).inc(count)


def _route_template(routes: list[BaseRoute], scope: Scope) -> str:
    # Label by route template ("/predict"), never by raw path: unknown paths must not create series.
    for route in routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return str(getattr(route, "path", "unmatched"))
    return "unmatched"


class MetricsMiddleware:
    """Counts and times every request by method, route template and status code."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics, routes: list[BaseRoute]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        route = _route_template(self.routes, scope)
        started = time.perf_counter()
        status = 500  # what the server answers when the app raises before responding

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.requests.labels(method=method, route=route, status=str(status)).inc()
            self.metrics.latency.labels(method=method, route=route).observe(time.perf_counter() - started)
