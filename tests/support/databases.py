"""Throw-away databases for tests: a SQLite file, or a fresh PostgreSQL database."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg

PG_URL = os.environ.get("MPP_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _with_db(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def create_database(backend: str, directory: Path) -> str:
    """Return the SQLAlchemy URL of a new, empty database of this backend."""
    if backend == "sqlite":
        return f"sqlite:///{directory / f'mpp-{uuid.uuid4().hex[:8]}.db'}"
    if not PG_URL:
        raise RuntimeError("MPP_TEST_DATABASE_URL is not set")
    name = f"mpp_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(PG_URL), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _with_db(PG_URL, name)
    if not url.startswith("postgresql+psycopg://"):
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    return url


def drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    name = url.rpartition("/")[2]
    with psycopg.connect(_libpq(PG_URL), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
