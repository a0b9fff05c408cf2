"""Real uvicorn processes on loopback ports, for concurrency, multi-process and browser tests."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "admin-rahasia-123"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    database_url: str
    port: int
    env: dict[str, str]
    workers: int = 1
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    extra_args: list[str] = field(default_factory=list)

    def start(self, timeout: float = 30.0) -> LiveServer:
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        cmd = [sys.executable, "-m", "uvicorn", "app.asgi:app", "--host", "127.0.0.1",
               "--port", str(self.port), "--workers", str(self.workers), "--log-level",
               "warning", "--timeout-graceful-shutdown", "2", *self.extra_args]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=log,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log_path}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not become ready; see {self.log_path}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def token(self, username: str = "admin", password: str = ADMIN_PASSWORD) -> str:
        r = httpx.post(f"{self.url}/api/v1/auth/token",
                       data={"username": username, "password": password}, timeout=30)
        r.raise_for_status()
        return str(r.json()["access_token"])


def prepare_database(url: str, *, demo: bool = False, always_open: bool = True,
                     passwords: dict[str, str] | None = None) -> dict[str, str]:
    """Migrate (and optionally load the demo mall) before a server starts.

    The first call of each kind in a test process builds a template; later calls copy it (a
    PostgreSQL `CREATE DATABASE ... TEMPLATE`, SQLite's backup API), which takes a fraction of a
    second instead of migrating and hashing every demo user's password again.
    """
    key = (url.partition(":")[0], demo, always_open, tuple(sorted((passwords or {}).items())))
    template = _TEMPLATES.get(key)
    if template is None:
        template_url = _template_url(url)
        made = _build(template_url, demo=demo, always_open=always_open, passwords=passwords)
        template = _TEMPLATES[key] = (template_url, made)
    _copy_database(template[0], url)
    return dict(template[1])


_TEMPLATES: dict[tuple[object, ...], tuple[str, dict[str, str]]] = {}


def _template_url(url: str) -> str:
    import tempfile
    import uuid

    if url.startswith("sqlite"):
        folder = Path(tempfile.mkdtemp(prefix="mpp-template-"))
        atexit.register(shutil.rmtree, folder, True)
        return f"sqlite:///{folder / 'template.db'}"
    # On the same server as the database it will be copied to (benchmarks bring their own).
    template = url.rpartition("/")[0] + f"/mpp_tpl_{uuid.uuid4().hex[:12]}"
    _pg_admin(url, f'CREATE DATABASE "{template.rpartition("/")[2]}"')
    atexit.register(_pg_admin, url,
                    f'DROP DATABASE IF EXISTS "{template.rpartition("/")[2]}" WITH (FORCE)')
    return template


def _pg_admin(url: str, sql: str) -> None:
    """Run one statement on the server of `url`, from its maintenance database."""
    import psycopg

    admin = url.replace("postgresql+psycopg://", "postgresql://", 1).rpartition("/")[0]
    with psycopg.connect(admin + "/postgres", autocommit=True) as conn:
        conn.execute(sql)


def _copy_database(template: str, url: str) -> None:
    if url.startswith("sqlite"):
        import sqlite3

        src = sqlite3.connect(template.removeprefix("sqlite:///"))
        dst = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
        return
    name, source = url.rpartition("/")[2], template.rpartition("/")[2]
    _pg_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _pg_admin(url, f'CREATE DATABASE "{name}" TEMPLATE "{source}"')


def _build(url: str, *, demo: bool, always_open: bool,
           passwords: dict[str, str] | None) -> dict[str, str]:
    from app.db.migrate import upgrade
    from app.db.session import make_engine, make_session_factory, unit_of_work

    upgrade(url)
    if not demo:
        return {}
    from app.services import yamlio
    from app.services.mallfile import load_mall

    doc = yamlio.load((ROOT / "app" / "data" / "demo_mall.yaml").read_text())
    engine = make_engine(url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            return load_mall(session, doc, always_open=always_open, passwords=passwords)
    finally:
        engine.dispose()


DEMO_PASSWORD = "demo-rahasia-123"


def prepare_demo(url: str) -> None:
    """Migrate and load the demo MPP, open at all hours; every demo user (petugas_dukcapil,
    manajer, admin, ...) gets the password DEMO_PASSWORD."""
    from app.services import yamlio

    doc = yamlio.load((ROOT / "app" / "data" / "demo_mall.yaml").read_text())
    users = [u["username"] for site in doc["sites"] for u in site["users"]]
    prepare_database(url, demo=True, passwords={u: DEMO_PASSWORD for u in users})


@contextmanager
def demo_server(backend: str, folder: Path, **env: str) -> Iterator[LiveServer]:
    """A real server on a fresh demo database of this backend (server.log in `folder`)."""
    from tests.support.databases import create_database, drop_database

    url = create_database(backend, folder)
    prepare_demo(url)
    server = start_server(url, log_path=folder / "server.log", **env)
    try:
        yield server
    finally:
        server.stop()
        drop_database(url)


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MPP_")}
    env.update({
        "MPP_DATABASE_URL": database_url,
        "MPP_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "MPP_ENV": "test",
        "MPP_SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "PYTHONPATH": str(ROOT),
        # Several test servers share one PostgreSQL (max_connections 100): stay frugal.
        "MPP_DB_POOL_SIZE": "4",
        "MPP_DB_MAX_OVERFLOW": "12",
        "MPP_DB_ASYNC_POOL_SIZE": "2",
    })
    env.update(extra)
    return env


def start_server(database_url: str, *, workers: int = 1, log_path: Path | None = None,
                 timeout: float = 30.0, **env: str) -> LiveServer:
    port = free_port()
    server = LiveServer(url=f"http://127.0.0.1:{port}", database_url=database_url, port=port,
                        env=server_env(database_url, **env), workers=workers, log_path=log_path)
    return server.start(timeout)
