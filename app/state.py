"""What the application keeps on `app.state`, typed in one place.

Starlette's `app.state` is an untyped bag; every reader goes through `state_of(app)`, so a
misspelt or missing attribute is a type error, not an AttributeError at 07.30 on a Monday.
`app.main.create_app` sets the first group, its lifespan the second (they exist only while the
application runs: the engine, the bus and the kiosks' asyncio pool are opened there).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from psycopg_pool import AsyncConnectionPool
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from app.bus import EventBus
    from app.config import Settings
    from app.db.ticket_store import CounterStore, KioskStore
    from app.metrics import Metrics
    from app.services.principal import SessionSigner, TokenSigner


class AppState(Protocol):
    # Set by create_app.
    settings: Settings
    clock: Callable[[], datetime]
    metrics: Metrics
    token_signer: TokenSigner
    session_signer: SessionSigner
    # Set by the lifespan, for as long as the application runs.
    engine: Engine
    session_factory: sessionmaker[Session]
    bus: EventBus
    kiosk_pool: AsyncConnectionPool | None  # PostgreSQL only
    kiosk_store: KioskStore | None
    counter_store: CounterStore | None
    fanout: Any  # app.api.ws_fanout.FanoutHub, made by the first board


def state_of(app: Any) -> AppState:
    """The typed view of `app.state` (the same object: writes go through too)."""
    return cast("AppState", app.state)
