"""Prometheus metrics (prometheus-client). Each worker process exposes its own registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from app.domain import events as ev
from app.domain.events import Event


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.tickets_issued = Counter("mpp_tickets_issued_total", "Tickets issued",
                                      registry=self.registry)
        self.tickets_called = Counter("mpp_tickets_called_total", "Tickets called (incl. recalls)",
                                      registry=self.registry)
        self.request_latency = Histogram(
            "mpp_request_seconds", "Request latency", ["method", "route", "status"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.ws_clients = Gauge("mpp_websocket_clients", "Connected websocket clients",
                                ["kind"], registry=self.registry)
        self.bus_lag = Gauge("mpp_bus_lag_seconds", "Delay of the last event through the bus",
                             registry=self.registry)
        self.bus_dropped = Gauge("mpp_bus_dropped_subscribers_total",
                                 "Slow websocket clients dropped", registry=self.registry)

    def record_events(self, events: list[Event]) -> None:
        for event in events:
            if event.type == ev.TICKET_ISSUED:
                self.tickets_issued.inc()
            elif event.type == ev.TICKET_CALLED:
                self.tickets_called.inc()
