"""Load test of the prediction API: `make loadtest` runs it (Locust, headless) against a running API.

Each simulated user sends one request after another, without pause: LOADTEST_USERS is the number of
requests in flight. Three in four requests carry one row, the others a small batch; the measurements
are drawn around each species' means, in centimetres, as a client would send them.

A 503 with Retry-After is the API shedding load (its queue is full, or requests waited too long in
it): it counts as "shed", not as an error. Any other failure (another status, a connection error, an
answer without one prediction per row) is an error. The run exits 1 when errors exceed
--max-error-ratio of the requests, or when no request was made.

At the end it writes summary.json and summary.md next to Locust's CSV files (--csv) and prints the
summary.
"""

from __future__ import annotations

import json
import logging
import random
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from locust import FastHttpUser, events

SHED = "shed: 503 with Retry-After"
"""The failure message of a shed request, which the summary counts apart from errors."""

# Mean and standard deviation of each measurement, per species (Fisher's iris data).
SPECIES: dict[str, dict[str, tuple[float, float]]] = {
    "setosa": {
        "sepal_length": (5.01, 0.35),
        "sepal_width": (3.43, 0.38),
        "petal_length": (1.46, 0.17),
        "petal_width": (0.25, 0.11),
    },
    "versicolor": {
        "sepal_length": (5.94, 0.52),
        "sepal_width": (2.77, 0.31),
        "petal_length": (4.26, 0.47),
        "petal_width": (1.33, 0.20),
    },
    "virginica": {
        "sepal_length": (6.59, 0.64),
        "sepal_width": (2.97, 0.32),
        "petal_length": (5.55, 0.55),
        "petal_width": (2.03, 0.27),
    },
}
BATCH_ROWS = (2, 16)

log = logging.getLogger(__name__)


def instance() -> dict[str, float]:
    """One flower's measurements, rounded to the millimetre as they are measured."""
    means = SPECIES[random.choice(list(SPECIES))]
    return {name: max(0.1, round(random.gauss(mean, sd), 1)) for name, (mean, sd) in means.items()}


class PredictUser(FastHttpUser):  # type: ignore[misc]
    """A client of POST /predict that sends its next request as soon as the last one is answered."""

    def predict(self, rows: int, name: str) -> None:
        payload = {"instances": [instance() for _ in range(rows)]}
        with self.client.post("/predict", json=payload, name=name, catch_response=True) as response:
            if response.status_code == 0:  # no answer: refused, reset, timed out
                response.failure(f"no answer: {response.error!r}")
            elif response.status_code == 503 and response.headers.get("Retry-After"):
                response.failure(SHED)
            elif response.status_code != 200:
                response.failure(f"status {response.status_code}: {(response.text or '')[:200]}")
            elif len(response.json().get("predictions", [])) != rows:
                response.failure(f"not one prediction per row: {response.text[:200]}")

    def one_row(self) -> None:
        self.predict(1, "/predict (1 row)")

    def small_batch(self) -> None:
        self.predict(random.randint(*BATCH_ROWS), "/predict (batch)")

    tasks: ClassVar[dict[Callable[[PredictUser], None], int]] = {one_row: 3, small_batch: 1}


def _arguments(parser: Any) -> None:
    parser.add_argument(
        "--max-error-ratio",
        type=float,
        default=0.01,
        help="Exit 1 when more than this share of the requests are errors (shed 503s are not errors)",
    )


def summarize(stats: Any, users: int) -> dict[str, Any]:
    """Requests, throughput, latency percentiles, shed requests and errors of the whole run."""
    shed = sum(error.occurrences for error in stats.errors.values() if SHED in str(error.error))
    errors = {
        f"{error.method} {error.name}: {error.error}": error.occurrences
        for error in stats.errors.values()
        if SHED not in str(error.error)
    }
    total = stats.total
    requests = total.num_requests
    answered = requests - shed - sum(errors.values())

    def latency(entry: Any) -> dict[str, float]:
        if not entry.num_requests:
            return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}
        percentiles = {f"p{round(q * 100)}": entry.get_response_time_percentile(q) for q in (0.5, 0.95, 0.99)}
        return percentiles | {"max": round(entry.max_response_time, 1)}

    return {
        "users": users,
        "requests": requests,
        "requests_per_second": round(total.total_rps, 1),
        # Requests per second that got predictions: what the API sustained at this concurrency.
        "answered_per_second": round(total.total_rps * answered / requests, 1) if requests else 0.0,
        "latency_ms": latency(total),
        "shed": shed,
        "errors": sum(errors.values()),
        "error_ratio": round(sum(errors.values()) / requests, 4) if requests else 0.0,
        "by_request": {
            name: {"requests": entry.num_requests, "latency_ms": latency(entry)}
            for (name, _), entry in sorted(stats.entries.items())
        },
        "error_messages": errors,
    }


def markdown(summary: dict[str, Any], host: str) -> str:
    latency = summary["latency_ms"]
    lines = [
        f"# Load test of {host}, {summary['users']} users",
        "",
        "| requests | req/s | answered/s | p50 ms | p95 ms | p99 ms | max ms | shed (503) | errors |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {summary['requests']} | {summary['requests_per_second']} | {summary['answered_per_second']}"
        f" | {latency['p50']:.0f} | {latency['p95']:.0f} | {latency['p99']:.0f} | {latency['max']:.0f}"
        f" | {summary['shed']} | {summary['errors']} |",
    ]
    if summary["shed"]:
        lines += [
            "",
            f"The API shed {summary['shed']} requests (503 with Retry-After): it is over capacity at this"
            " concurrency, and the latencies above count those quick refusals. Size replicas from a run"
            " without shedding.",
        ]
    if summary["error_messages"]:
        lines += ["", "## Errors", ""]
        worst = sorted(summary["error_messages"].items(), key=lambda item: -item[1])
        lines += [f"- {count} x {message}" for message, count in worst[:10]]
    return "\n".join(lines) + "\n"


def _check_ready(environment: Any, **_: Any) -> None:
    """Stop before the run when no API answers: a run against nothing would report only errors."""
    if environment.host is None or type(environment.runner).__name__ == "WorkerRunner":
        return
    url = environment.host.rstrip("/") + "/ready"
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            ready = answer.status == 200
    except (OSError, ValueError) as error:
        ready, reason = False, str(error)
    else:
        reason = "not ready"
    if not ready:
        raise SystemExit(
            f"no API ready at {url} ({reason}): start one with `make serve`, or set LOADTEST_URL"
        )


_summary_text: list[str] = []


def _report(environment: Any, **_: Any) -> None:
    """Write the summary; the exit status follows the errors, not Locust's rule (any failure)."""
    if environment.runner is None or type(environment.runner).__name__ == "WorkerRunner":
        return  # the master reports for its workers
    options = environment.parsed_options
    users = options.num_users if options is not None and options.num_users else 0
    summary = summarize(environment.stats, users)
    text = markdown(summary, environment.host)
    if options is not None and options.csv_prefix:
        folder = Path(options.csv_prefix).parent
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        (folder / "summary.md").write_text(text, encoding="utf-8")
        text += f"\nReport: {folder}/ (summary.md, summary.json, Locust's CSV files)\n"
    _summary_text.append(text)
    limit = options.max_error_ratio if options is not None else 0.0
    crashed = len(environment.runner.exceptions)  # exceptions in the load test's own code
    if summary["requests"] == 0 or summary["error_ratio"] > limit or crashed:
        log.error(
            "%s errors in %s requests (limit: %s of them), %s exceptions in the load test",
            summary["errors"],
            summary["requests"],
            limit,
            crashed,
        )
        environment.process_exit_code = 1
    else:
        environment.process_exit_code = 0


def _print_summary(**_: Any) -> None:
    """Printed last, after Locust's own tables."""
    for text in _summary_text:
        print(text)


events.init_command_line_parser.add_listener(_arguments)
events.init.add_listener(_check_ready)
events.quitting.add_listener(_report)
events.quit.add_listener(_print_summary)
