"""HTTP/1.1 keep-alive load client with latencies by status (wrk reports none by status).

    python _loadgen.py --url URL --body JSON --seconds 6 --rate 3000        # open loop
    python _loadgen.py --url URL --body JSON --seconds 6 --concurrency 256  # closed loop

Open loop: request i is due at start + i/rate, whatever came back before; it goes out on an idle
connection (a new one while fewer than --max-connections are open, else it waits in the client for
the first connection that frees up). Its latency counts from when it was due, so a slow server is not
hidden by a client that slowed down with it (no coordinated omission); the time from when it was sent
is the server's answer time alone. Closed loop: --concurrency connections, each sending its next
request as soon as the last one came back. One request per connection at a time, no pipelining.

asyncio protocols (not streams) on uvloop when present: on one core this sends about 10,000 small
requests a second. Prints one JSON object: offered and completed rates, counts and latency percentiles
by status code, transport errors, requests left unanswered at the end, how late requests went out
(send_late_ms: from due to sent, the wait for a free connection included; issue_late_ms: from due to
when the client got to it, its own delay alone) and the share of a core the client used while sending.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import re
import resource
import time
import typing
from urllib.parse import urlsplit

CONTENT_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)


class Connection(asyncio.Protocol):
    def __init__(self, load: Load) -> None:
        self.load = load
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.pending: tuple[float, float] | None = None  # (due, sent) of the request in flight

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = typing.cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.load.connected(self)

    def send(self, due: float) -> None:
        assert self.transport is not None
        now = time.perf_counter()
        self.load.lateness.append((now - due) * 1000)
        self.pending = (due, now)
        self.transport.write(self.load.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.pending is not None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end])
            match = CONTENT_LENGTH.search(head)
            size = end + 4 + (int(match.group(1)) if match else 0)
            if len(self.buffer) < size:
                return
            del self.buffer[:size]
            due, sent = self.pending
            self.pending = None
            self.load.answered(self, int(head[9:12]), due, sent)

    def connection_lost(self, exc: Exception | None) -> None:
        self.load.lost(self)


class Load:
    def __init__(self, url: str, body: str, max_connections: int) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        payload = body.encode()
        self.request = (
            f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        ).encode() + payload
        self.max_connections = max_connections
        self.idle: list[Connection] = []
        self.waiting: collections.deque[float] = collections.deque()  # due times with no connection yet
        self.connections = 0  # open or opening
        self.peak = 0
        self.in_flight = 0
        self.closed_loop = False
        self.stop_at = 0.0
        # By status: latency from when the request was due and from when it was sent.
        self.latencies: dict[int, list[float]] = {}
        self.service: dict[int, list[float]] = {}
        self.lateness: list[float] = []  # due to sent: the client's own delay and the wait for a connection
        self.issue_lateness: list[float] = []  # due to issued: the client's own delay alone
        self.errors = 0
        self.last_answer = 0.0

    def open(self) -> None:
        self.connections += 1
        self.peak = max(self.peak, self.connections)
        loop = asyncio.get_running_loop()
        task = loop.create_task(loop.create_connection(lambda: Connection(self), self.host, self.port))
        task.add_done_callback(self._opened)

    def _opened(self, task: asyncio.Task[tuple[asyncio.BaseTransport, asyncio.BaseProtocol]]) -> None:
        if task.exception() is not None:
            self.connections -= 1
            self.errors += 1
            if self.waiting:
                self.in_flight -= 1
                self.waiting.popleft()  # that request failed: its connection did not open

    def connected(self, connection: Connection) -> None:
        self.next(connection)

    def issue(self, due: float) -> None:
        self.issue_lateness.append((time.perf_counter() - due) * 1000)
        self.in_flight += 1
        if self.idle:
            self.idle.pop().send(due)
            return
        self.waiting.append(due)
        if self.connections < self.max_connections:
            self.open()

    def next(self, connection: Connection) -> None:
        """A connection is free: the next waiting request, or the next closed-loop one, or idle."""
        if self.waiting:
            connection.send(self.waiting.popleft())
        elif self.closed_loop and time.perf_counter() < self.stop_at:
            self.in_flight += 1
            connection.send(time.perf_counter())
        else:
            self.idle.append(connection)

    def answered(self, connection: Connection, status: int, due: float, sent: float) -> None:
        now = self.last_answer = time.perf_counter()
        self.in_flight -= 1
        self.latencies.setdefault(status, []).append((now - due) * 1000)
        self.service.setdefault(status, []).append((now - sent) * 1000)
        self.next(connection)

    def lost(self, connection: Connection) -> None:
        self.connections -= 1
        if connection in self.idle:
            self.idle.remove(connection)
        if connection.pending is not None:
            connection.pending = None
            self.in_flight -= 1
            self.errors += 1
        if self.waiting and self.connections < self.max_connections:
            self.open()

    async def drain(self, timeout: float) -> int:
        """Wait for the answers still due, up to `timeout`; how many never came."""
        deadline = time.perf_counter() + timeout
        while self.in_flight > 0 and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        return self.in_flight

    async def run_open(self, rate: float, seconds: float) -> float:
        start = time.perf_counter()
        total, issued = int(rate * seconds), 0
        while issued < total:
            due_now = min(total, int((time.perf_counter() - start) * rate) + 1)
            while issued < due_now:
                self.issue(start + issued / rate)
                issued += 1
            # Until the next request is due, at least 1 ms (the loop's timer resolution): no busy wait,
            # so the client's CPU time is its work.
            await asyncio.sleep(max(0.001, start + issued / rate - time.perf_counter()))
        return time.perf_counter() - start

    async def run_closed(self, concurrency: int, seconds: float) -> float:
        start = time.perf_counter()
        self.closed_loop, self.stop_at = True, start + seconds
        for _ in range(concurrency):
            self.issue(start)
        while time.perf_counter() < self.stop_at:
            await asyncio.sleep(0.01)
        return time.perf_counter() - start


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"p50_ms": at(0.50), "p90_ms": at(0.90), "p99_ms": at(0.99), "max_ms": round(ordered[-1], 2)}


async def measure(args: argparse.Namespace) -> dict[str, object]:
    load = Load(args.url, args.body, args.max_connections if args.rate > 0 else args.concurrency)
    cpu_before = time.process_time()
    start = time.perf_counter()
    if args.rate > 0:
        sending = await load.run_open(args.rate, args.seconds)
    else:
        sending = await load.run_closed(args.concurrency, args.seconds)
    cpu_sending = time.process_time() - cpu_before
    unanswered = await load.drain(args.timeout)
    answered = sum(len(v) for v in load.latencies.values())
    # Rates over the time until the last answer came (answers to an overload arrive after sending ends).
    elapsed = max(load.last_answer - start, sending)
    return {
        "mode": "open" if args.rate > 0 else "closed",
        "seconds_sending": round(sending, 3),
        "seconds": round(elapsed, 3),
        "offered_rps": round(args.rate if args.rate > 0 else (answered + load.errors) / sending, 1),
        "completed_rps": round(answered / elapsed, 1),
        "ok_rps": round(len(load.latencies.get(200, [])) / elapsed, 1),
        "status": {
            str(code): {
                "count": len(values),
                **percentiles(values),
                "from_send": percentiles(load.service[code]),
            }
            for code, values in sorted(load.latencies.items())
        },
        "transport_errors": load.errors,
        "unanswered": unanswered,
        "connections_peak": load.peak,
        "send_late_ms": percentiles(load.lateness) if load.lateness else None,
        "issue_late_ms": percentiles(load.issue_lateness) if load.issue_lateness else None,
        # Share of one core the client used while sending: near 1, the client is the limit.
        "client_cpu_share": round(cpu_sending / sending, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--body", required=True)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rate", type=float, default=0, help="open loop: requests per second")
    parser.add_argument("--concurrency", type=int, default=0, help="closed loop: connections")
    parser.add_argument("--max-connections", type=int, default=4096)
    parser.add_argument("--timeout", type=float, default=10, help="wait for late answers at the end")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, args.max_connections + 256)), hard))
    try:
        import uvloop  # type: ignore[import-not-found,unused-ignore]

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(measure(args))))


if __name__ == "__main__":
    main()
