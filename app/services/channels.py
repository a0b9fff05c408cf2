"""The delivery interface of the outbox: one channel per row kind ("message", "webhook", ...).

A channel gets one row's content (Outgoing) and answers what happened (Outcome); it never
touches the outbox itself, which the relay (app/services/outbox.py) owns: claiming, retries,
growing delays, status. A module adds a kind with `register(kind, factory)`; the factory gets
the settings and a session factory (a webhook channel looks its endpoint up) and is called
once per relay.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings


@dataclass(frozen=True)
class Outgoing:
    """One outbox row, as a channel sees it. `key` is the idempotency key: the same on every
    attempt, so a receiver that saw it already can drop the repeat."""

    id: int
    kind: str
    topic: str
    key: str
    site_id: int | None
    target: str | None
    payload: dict[str, Any]
    attempt: int  # 1 for the first attempt
    created_at: Any


@dataclass(frozen=True)
class Outcome:
    """`sent`: accepted (the provider's id in `provider_ref`, for its status callbacks);
    `retry`: try again later (a timeout, 5xx, 429); `failed`: refused for good (4xx)."""

    result: Literal["sent", "retry", "failed"]
    provider_ref: str | None = None
    error: str | None = None
    # A channel with its own retry schedule (webhooks: up to a day apart, giving up itself)
    # sets the wait; the relay's growing delay and attempt limit then do not apply.
    delay_seconds: float | None = None

    @classmethod
    def from_http(cls, status: int, body: str = "", provider_ref: str | None = None) -> Outcome:
        if 200 <= status < 300:
            return cls("sent", provider_ref)
        error = f"HTTP {status}: {body[:200]}"
        if status in (408, 409, 425, 429) or status >= 500:
            return cls("retry", error=error)
        return cls("failed", error=error)


class Channel(Protocol):
    def send(self, item: Outgoing) -> Outcome: ...


ChannelFactory = Callable[[Settings, sessionmaker[Session]], Channel]
_FACTORIES: dict[str, ChannelFactory] = {}


def register(kind: str, factory: ChannelFactory) -> None:
    _FACTORIES[kind] = factory


def build(settings: Settings, session_factory: sessionmaker[Session]) -> dict[str, Channel]:
    return {kind: factory(settings, session_factory) for kind, factory in _FACTORIES.items()}
