"""What every use case receives: the session, the event outbox, the actor and the clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from app.domain.events import Event


@dataclass(frozen=True)
class Principal:
    """Who is acting: a user (admin, manager, officer) or a device (kiosk, display)."""

    kind: str  # "user", "device" or "partner"
    id: int
    role: str
    name: str
    agency_id: int | None = None
    site_id: int | None = None
    # A partner API key's scopes ("read:stats", "issue:tickets") and the services it may
    # issue for; empty for users and devices, whose role says what they may do.
    scopes: tuple[str, ...] = ()
    service_ids: tuple[int, ...] = ()
    # A survey tablet's counter (a device of kind "tablet" is bound to one counter).
    counter_id: int | None = None

    @property
    def user_id(self) -> int | None:
        return self.id if self.kind == "user" else None

    @property
    def scope_key(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass
class Ctx:
    session: Session
    now: datetime
    actor: Principal | None = None
    outbox: list[Event] = field(default_factory=list)
    ip: str | None = None
    # A refusal (DomainError) that must keep what the use case wrote (a failed sign-in's count):
    # the unit of work then commits before passing the error on.
    keep_writes_on_refusal: bool = False

    def emit(self, event: Event) -> None:
        self.outbox.append(event)
