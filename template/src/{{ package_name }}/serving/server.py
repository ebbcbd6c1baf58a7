"""The HTTP server: uvicorn, one or several worker processes, and a graceful shutdown.

On SIGTERM (or Ctrl-C) a worker
1. reports not ready at once (`/ready` answers 503, `model_ready` drops to 0) and keeps serving for
   SHUTDOWN_DELAY_SECONDS, so a load balancer that still routes to it sees no error;
2. closes its listener and lets every request in flight or queued finish, for up to
   SHUTDOWN_GRACE_SECONDS (past it, what is left is cancelled);
3. exits 0.
A second signal ends it at once. Kubernetes' terminationGracePeriodSeconds and compose's
stop_grace_period leave room for the preStop pause, the delay and the grace period.

With WORKERS > 1 a supervisor process binds the socket, starts the workers (each with its model and
micro-batcher, all accepting on the one socket), restarts one that dies, forwards SIGTERM to all of them
and exits 0 once they all did. The metrics of every worker are added up through prometheus-client's
multiprocess mode in PROMETHEUS_MULTIPROC_DIR (a writable folder: /tmp in the images, whose root
filesystem is read-only).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType

import uvicorn

from ..config import Settings
from ..errors import UsageError

log = logging.getLogger(__name__)

SHUTDOWN_REQUESTED = threading.Event()
"""Set in a worker when it got SIGTERM or SIGINT: the app reports not ready from then on."""

APP_FACTORY = f"{__package__}.app:create_app"


class GracefulServer(uvicorn.Server):
    """uvicorn's server with a readiness drain before the listener closes, and exit status 0."""

    def __init__(self, config: uvicorn.Config, shutdown_delay: float) -> None:
        super().__init__(config)
        self.shutdown_delay = shutdown_delay
        self.exit_at: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Unlike uvicorn's own handler, the signal is not raised again after the shutdown, so a
        # graceful stop ends with status 0.
        if self.exit_at is not None:  # a second signal: stop now
            self.should_exit = True
            self.force_exit = True
            return
        SHUTDOWN_REQUESTED.set()
        self.exit_at = time.monotonic() + self.shutdown_delay
        log.info("%s: not ready; stopping in %g s", signal.Signals(sig).name, self.shutdown_delay)

    async def on_tick(self, counter: int) -> bool:
        if self.exit_at is not None and time.monotonic() >= self.exit_at:
            self.should_exit = True
        return await super().on_tick(counter)


def serve(settings: Settings, host: str, port: int) -> int:
    """Run the API until SIGTERM or SIGINT; the exit status once it stopped (0: a graceful stop)."""
    config = uvicorn.Config(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        log_level=settings.log_level,
        access_log=False,  # per-request logs cost ~20% throughput; /metrics counts requests instead
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )
    if settings.workers > 1 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        _prepare_multiprocess_dir(port)
    if settings.workers == 1:
        GracefulServer(config, settings.shutdown_delay_seconds).run()
        return 0
    listener = config.bind_socket()
    try:
        return Supervisor(config, listener, settings).run()
    finally:
        listener.close()


def _run_worker(config: uvicorn.Config, shutdown_delay: float, listener: socket.socket) -> None:
    config.configure_logging()
    GracefulServer(config, shutdown_delay).run(sockets=[listener])


class Supervisor:
    """Keeps `settings.workers` worker processes serving one socket; stops them all on SIGTERM."""

    RESTART_PAUSE = 1.0

    def __init__(self, config: uvicorn.Config, listener: socket.socket, settings: Settings) -> None:
        self.config = config
        self.listener = listener
        self.settings = settings
        self.stopping: int | None = None  # the signal that asks to stop
        # Spawned, not forked: each worker imports the app (and prometheus-client) afresh.
        self.context = multiprocessing.get_context("spawn")

    def _start(self) -> multiprocessing.process.BaseProcess:
        worker = self.context.Process(
            target=_run_worker,
            args=(self.config, self.settings.shutdown_delay_seconds, self.listener),
            name="api-worker",
        )
        worker.start()
        return worker

    def _on_signal(self, sig: int, frame: FrameType | None) -> None:
        self.stopping = sig

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        workers = [self._start() for _ in range(self.settings.workers)]
        log.info("started %d workers: %s", len(workers), " ".join(str(w.pid) for w in workers))
        while self.stopping is None:
            for index, worker in enumerate(workers):
                if not worker.is_alive() and self.stopping is None:
                    log.error("worker %s exited with %s; starting another", worker.pid, worker.exitcode)
                    time.sleep(self.RESTART_PAUSE)
                    workers[index] = self._start()
            time.sleep(0.2)
        # Ctrl-C reaches every process of the terminal's group by itself; SIGTERM goes to this one.
        if self.stopping == signal.SIGTERM:
            for worker in workers:
                if worker.pid is not None and worker.is_alive():
                    os.kill(worker.pid, signal.SIGTERM)
        deadline = (
            time.monotonic() + self.settings.shutdown_delay_seconds + self.settings.shutdown_grace_seconds + 5
        )
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        for worker in workers:
            if worker.is_alive():
                log.error("worker %s did not stop in time: killed", worker.pid)
                worker.kill()
                worker.join()
        return 0 if all(worker.exitcode == 0 for worker in workers) else 1


def _prepare_multiprocess_dir(port: int) -> None:
    """An empty PROMETHEUS_MULTIPROC_DIR for the workers (set before they import prometheus-client)."""
    configured = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    # Unset: a folder of this server's own under the temporary folder, emptied at each start, so
    # restarts in a container do not fill its /tmp.
    path = Path(configured or Path(tempfile.gettempdir()) / f"{__package__}-metrics-{port}")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):  # counts of an earlier run must not add to this one's
            stale.unlink()
    except OSError as exc:
        raise UsageError(f"PROMETHEUS_MULTIPROC_DIR={path} is not a writable folder: {exc}") from None
