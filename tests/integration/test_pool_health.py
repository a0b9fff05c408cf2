"""A pooled PostgreSQL connection whose backend went away is replaced at checkout, unnoticed."""

from __future__ import annotations

import time

import psycopg
import pytest
import sqlalchemy as sa

from app.db.session import make_engine
from tests.support.databases import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="MPP_TEST_DATABASE_URL is not set")


def test_terminated_backend_is_replaced_without_an_error() -> None:
    engine = make_engine(PG_URL, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            old = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (old,))
        time.sleep(0.3)  # the goodbye message reaches the idle pooled socket
        with engine.connect() as conn:
            new = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        assert new != old
    finally:
        engine.dispose()
