"""Shared fixtures.

Databases: every database test runs on SQLite and, when MPP_TEST_DATABASE_URL is set (CI sets it
to the local PostgreSQL), on PostgreSQL too: the `backend` fixture is parametrized over both.
Each xdist worker gets its own migrated database per backend; each test runs inside a transaction
that is rolled back afterwards (services' commits become savepoint releases).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.session import make_engine
from tests.support.databases import BACKENDS, create_database, drop_database
from tests.support.live import DEMO_PASSWORD  # noqa: F401 - imported from here by the tests
from tests.support.world import World, build_world

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("MPP_ENV", "test")
    # Property tests check results, not speed: no per-example deadline on a busy 2-core box.
    from hypothesis import settings as hypothesis_settings

    hypothesis_settings.register_profile("mpp", deadline=None)
    hypothesis_settings.load_profile("mpp")
    _travel_to_test_now()


def _travel_to_test_now() -> None:
    """MPP_TEST_NOW=2026-12-01T16:59:30Z runs this process as if the clock read that instant.

    The suite must pass at any hour (midnight WIB is 17.00 UTC); `make test-hours` runs the
    in-process tests at the instants where a day changes in one zone and not in another.
    Servers started in other processes keep the real clock.
    """
    instant = os.environ.get("MPP_TEST_NOW")
    if instant:
        import time_machine

        traveller = time_machine.travel(datetime.fromisoformat(instant), tick=True)
        traveller.start()  # for the whole process; it ends with it


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def migrated_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database for this worker and backend, reused by every test."""
    from app.db.migrate import upgrade

    url = create_database(backend, tmp_path_factory.mktemp(f"db-{backend}"))
    upgrade(url)
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def engine(migrated_url: str) -> Iterator[sa.Engine]:
    eng = make_engine(migrated_url)
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine: sa.Engine) -> Iterator[sa.Connection]:
    conn = engine.connect()
    trans = conn.begin()
    try:
        yield conn
    finally:
        trans.rollback()
        conn.close()


@pytest.fixture
def session_factory(connection: sa.Connection) -> sessionmaker[Session]:
    return sessionmaker(bind=connection, expire_on_commit=False, autoflush=False,
                        join_transaction_mode="create_savepoint")


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    s = session_factory()
    try:
        yield s
    finally:
        s.close()


class Clock:
    """A settable clock: tests move time instead of sleeping."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: datetime) -> None:
        self.now = now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def world(session: Session, clock: Clock) -> World:
    """A small mall: one site, two agencies, services, counters, officers, a manager, a kiosk."""
    w = build_world(session, now=clock())
    session.commit()
    return w


@pytest.fixture
def app(session_factory: sessionmaker[Session], migrated_url: str, clock: Clock) -> Any:
    from app.bus import EventBus
    from app.main import create_app

    settings = Settings(database_url=migrated_url, env="test", bus="memory",
                        login_lock_seconds=60)
    application = create_app(settings, clock=clock)
    application.state.engine = session_factory.kw["bind"]
    application.state.session_factory = session_factory
    application.state.bus = EventBus()
    return application


@pytest.fixture
async def api(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An async client talking to the app in-process (no lifespan: state is set by `app`)."""
    await app.state.bus.start()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client
    await app.state.bus.stop()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def live_server(backend: str, tmp_path: Path) -> Iterator[Any]:
    """A real uvicorn process on a fresh database of this backend (admin/ADMIN_PASSWORD)."""
    from tests.support.live import prepare_database, start_server

    url = create_database(backend, tmp_path)
    prepare_database(url)
    server = start_server(url, log_path=tmp_path / "server.log")
    try:
        yield server
    finally:
        server.stop()
        drop_database(url)


@pytest.fixture
def demo_server(backend: str, tmp_path: Path) -> Iterator[Any]:
    """A real server on a fresh database holding the demo MPP, open at all hours.

    Every demo user (petugas_dukcapil, manajer, admin, ...) has the password DEMO_PASSWORD.
    """
    from tests.support.live import demo_server as serve_demo

    with serve_demo(backend, tmp_path) as server:
        yield server
