"""Prometheus metrics (prometheus-client).

One worker: each process exposes its own registry. Several workers: set
PROMETHEUS_MULTIPROC_DIR (`mpp serve --workers N` does it for you) and every worker writes its
values to files in that directory, so `/metrics` on any worker shows the sum over all of them.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from app.domain import events as ev
from app.domain.events import Event

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_PID_FILE = re.compile(r"^gauge_(?:live\w+)_(\d+)\.db$")


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or os.environ.get("prometheus_multiproc_dir") or None


def forget_dead_processes(directory: str) -> int:
    """Drop the live-gauge files of workers that are gone (killed, restarted); returns how many.

    Counters and histograms of a dead worker stay (they are totals); its websocket clients do
    not, or a crashed worker would count its clients forever.
    """
    removed = 0
    for path in Path(directory).glob("gauge_live*_*.db"):
        match = _PID_FILE.match(path.name)
        if match and not _alive(int(match.group(1))):
            try:
                path.unlink()
                removed += 1
            except FileNotFoundError:
                pass
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.multiprocess = multiprocess_dir() is not None
        reg = self.registry
        self.tickets_issued = Counter("mpp_tickets_issued_total", "Tickets issued", registry=reg)
        self.tickets_called = Counter("mpp_tickets_called_total", "Tickets called (incl. recalls)",
                                      registry=reg)
        self.issue_path = Counter(
            "mpp_ticket_issue_path_total",
            "Kiosk issues on PostgreSQL: issued on the asyncio path, or left to the reference path",
            ["path"], registry=reg)
        self.call_path = Counter(
            "mpp_counter_call_path_total",
            "Officers' call-next and start on PostgreSQL: done on the asyncio path, or left to "
            "the reference path", ["action", "path"], registry=reg)
        self.request_latency = Histogram(
            "mpp_request_seconds", "Request latency", ["method", "route", "status"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.35, 0.5, 0.75, 1,
                     1.5, 2.5, 5, 10),
            registry=reg,
        )
        # Gauges: how values of several workers combine (ignored with one process).
        self.ws_clients = Gauge("mpp_websocket_clients", "Connected websocket clients",
                                ["kind"], registry=reg, multiprocess_mode="livesum")
        self.bus_lag = Gauge("mpp_bus_lag_seconds", "Delay of the last event through the bus",
                             registry=reg, multiprocess_mode="livemax")
        self.bus_dropped = Gauge("mpp_bus_dropped_subscribers_total",
                                 "Slow websocket clients dropped", registry=reg,
                                 multiprocess_mode="livesum")
        self.bus_connected = Gauge("mpp_bus_connected",
                                   "1 when the event bus of every worker is connected",
                                   registry=reg, multiprocess_mode="livemin")
        self.bus_reconnects = Gauge("mpp_bus_reconnects_total",
                                    "Times the event bus had to reconnect (events may be lost)",
                                    registry=reg, multiprocess_mode="livesum")
        self.workers = Gauge("mpp_workers", "Live worker processes", registry=reg,
                             multiprocess_mode="livesum")
        self.workers.set(1)

    def record_events(self, events: list[Event]) -> None:
        for event in events:
            if event.type == ev.TICKET_ISSUED:
                self.tickets_issued.inc()
            elif event.type == ev.TICKET_CALLED:
                self.tickets_called.inc()

    def observe_bus(self, bus: object) -> None:
        """Copy the bus's own counters into the gauges (each worker does this for itself)."""
        self.bus_lag.set(float(getattr(bus, "last_lag_seconds", 0.0)))
        self.bus_dropped.set(int(getattr(bus, "dropped", 0)))
        self.bus_connected.set(1 if getattr(bus, "healthy", False) else 0)
        self.bus_reconnects.set(int(getattr(bus, "reconnects", 0)))

    def exposition_registry(self) -> CollectorRegistry:
        """What /metrics shows: this process, or every worker's files in multi-process mode."""
        directory = multiprocess_dir()
        if directory is None:
            return self.registry
        from prometheus_client import multiprocess

        forget_dead_processes(directory)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)
        return registry


class RequestMetricsMiddleware:
    """Pure ASGI middleware timing each HTTP request by method, route template and status
    (Starlette's BaseHTTPMiddleware costs a task group and two streams per request)."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def send_status(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.request_latency.labels(scope["method"], path, str(status[0])).observe(
                time.perf_counter() - start)
