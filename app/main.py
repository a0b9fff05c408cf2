"""The FastAPI application: create_app() builds it; the lifespan owns engine and bus."""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.api.errors import install_error_handlers
from app.bus import make_bus
from app.config import Settings, get_settings
from app.db.session import make_engine, make_session_factory
from app.metrics import Metrics
from app.services.auth import TokenSigner
from app.state import state_of
from app.web.session import SessionSigner

log = logging.getLogger("mpp")
ROOT = Path(__file__).resolve().parent.parent

# Each screen owns its router module (and may expose setup(app) for start-up jobs).
# Routers are matched in this order; the kiosk and counter API, the busiest, comes first.
ROUTER_MODULES = [
    "app.api.routes_queue",
    "app.api.routes_health",
    "app.api.routes_config",
    "app.api.routes_stats",
    "app.api.routes_admin",
    "app.api.routes_booking",
    "app.api.routes_open_data",
    "app.api.routes_webhooks",
    "app.api.routes_partner_keys",
    "app.api.ws",
    "app.api.ws_dashboard",
    "app.api.routes_boards",
    "app.api.routes_notify",
    "app.api.routes_packages",
    "app.web.auth_pages",
    "app.web.counter_pages",
    "app.web.dashboard_pages",
    "app.web.survey_pages",
    "app.web.integration_pages",
    "app.web.admin_pages",
    "app.web.skm_pages",
    "kiosk_ui.routes",
    "display_board.routes",
    "app.web.booking_pages",
    "app.web.join_pages",
    "app.web.service_pages",
    "app.web.api_docs",
    "app.web.home",
]

STATIC_DIRS = {
    "/static": ROOT / "app" / "web" / "static",
    "/kiosk-static": ROOT / "kiosk_ui" / "static",
    "/display-static": ROOT / "display_board" / "static",
}


def utc_clock() -> datetime:
    return datetime.now(UTC)


def create_app(settings: Settings | None = None, clock: Callable[[], datetime] | None = None
               ) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from app.services.bootstrap import bootstrap

        engine = make_engine(settings.database_url, pool_size=settings.db_pool_size,
                             max_overflow=settings.db_max_overflow)
        state_of(app).engine = engine
        state_of(app).session_factory = make_session_factory(engine)
        bootstrap(state_of(app).session_factory, settings)
        bus = make_bus(settings.bus_backend, settings.database_url)
        state_of(app).bus = bus
        await bus.start()
        state_of(app).kiosk_pool = state_of(app).kiosk_store = state_of(app).counter_store = None
        if not settings.is_sqlite and settings.db_async_pool_size > 0:
            from app.db.pg_async import open_pool
            from app.db.ticket_store import CounterStore, KioskStore

            # Kiosks' issues and counters' call-next and start share these connections.
            state_of(app).kiosk_pool = await open_pool(settings.database_url,
                                                   settings.db_async_pool_size)
            state_of(app).kiosk_store = KioskStore(state_of(app).kiosk_pool)
            state_of(app).counter_store = CounterStore(state_of(app).kiosk_pool)
        from app import jobs

        background = await jobs.start_all(app)
        try:
            yield
        finally:
            await jobs.stop_all(background)
            await bus.stop()
            if state_of(app).kiosk_pool is not None:
                await state_of(app).kiosk_pool.close()
            engine.dispose()

    app = FastAPI(
        # /docs and /redoc are served by app.web.api_docs, from local files.
        docs_url=None,
        redoc_url=None,
        title="MPP Antrean",
        version="0.1.0",
        description="Queue system for Indonesia's Mal Pelayanan Publik",
        lifespan=lifespan,
    )
    state_of(app).settings = settings
    state_of(app).clock = clock or utc_clock
    state_of(app).metrics = Metrics()
    state_of(app).token_signer = TokenSigner(settings.secret_key, settings.token_minutes * 60)
    state_of(app).session_signer = SessionSigner(settings.secret_key, settings.session_minutes * 60)
    install_error_handlers(app)
    from app.web import pages

    pages.install(app)

    from app.metrics import RequestMetricsMiddleware

    app.add_middleware(RequestMetricsMiddleware, metrics=state_of(app).metrics)

    for name in ROUTER_MODULES:
        module = importlib.import_module(name)
        app.include_router(module.router)
        setup = getattr(module, "setup", None)
        if setup is not None:
            setup(app)
    for prefix, directory in STATIC_DIRS.items():
        if directory.is_dir():
            app.mount(prefix, StaticFiles(directory=directory), name=prefix.strip("/"))
    from app.api.limits import InFlightLimit

    # Requests wait in the event loop, not in pool threads (see app/api/limits.py).
    app.add_middleware(InFlightLimit, limit=settings.max_in_flight,
                       serialize_writes=settings.is_sqlite)
    from app.logging_setup import RequestIdMiddleware

    if settings.allowed_hosts and "*" not in settings.allowed_hosts:
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        # Refuse requests for other Host names (DNS rebinding, poisoned absolute URLs); local
        # names stay allowed for the container's health check and probes on the host itself.
        hosts = [*settings.allowed_hosts, "localhost", "127.0.0.1"]
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts)
    from app.api.body_limit import BodyLimit

    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    from app.api.exposure import Exposure

    production = settings.env == "production"
    app.add_middleware(
        Exposure, allowed_origins=settings.allowed_origins, metrics_allow=settings.metrics_allow,
        public_docs=settings.public_docs if settings.public_docs is not None else not production,
        public_metrics=(settings.public_metrics if settings.public_metrics is not None
                        else not production))
    from app.api.security_headers import SecurityHeaders

    app.add_middleware(SecurityHeaders)
    # Added after every other middleware, so outermost: every response carries X-Request-ID.
    app.add_middleware(RequestIdMiddleware)
    from app.api.ws_fanout import WebSocketTransportMiddleware

    # Outermost of all: it sees the server's own websocket `send` (see app/api/ws_fanout.py).
    app.add_middleware(WebSocketTransportMiddleware)
    return app
