"""The durable outbox: rows written with their cause, one relay per row, retries with growing
delays, and rows of a relay killed mid-send picked up again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.db.migrate import upgrade
from app.db.models import OutboxMessage
from app.db.session import make_engine, make_session_factory, unit_of_work
from app.services import outbox
from app.services.channels import Outcome, Outgoing
from tests.support.databases import create_database, drop_database

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def db(backend, tmp_path_factory):
    url = create_database(backend, tmp_path_factory.mktemp("outbox"))
    upgrade(url)
    engine = make_engine(url)
    yield url, make_session_factory(engine)
    engine.dispose()
    drop_database(url)


@pytest.fixture
def factory(db):
    url, factory = db
    with unit_of_work(factory) as s:
        s.execute(sa.delete(OutboxMessage))
    return factory


class Recorder:
    """A channel that answers from a script of outcomes and records what it was given."""

    def __init__(self, outcomes=()):
        self.outcomes = list(outcomes)
        self.seen: list[Outgoing] = []
        self.lock = threading.Lock()

    def send(self, item: Outgoing) -> Outcome:
        with self.lock:
            self.seen.append(item)
            return self.outcomes.pop(0) if self.outcomes else Outcome("sent", f"ref-{item.id}")


def _add(factory, key, now, **kw):
    with unit_of_work(factory) as s:
        return outbox.enqueue(s, kind="message", topic="test", key=key, payload={"n": key},
                              now=now, target="6281234567890", **kw)


def _rows(factory):
    with unit_of_work(factory, write=False) as s:
        return {r.key: r for r in s.scalars(sa.select(OutboxMessage))}


def test_row_exists_only_when_its_cause_committed_and_once_per_key(factory):
    now = datetime.now(UTC)
    with pytest.raises(RuntimeError), unit_of_work(factory) as s:
        outbox.enqueue(s, kind="message", topic="t", key="rolled-back", payload={}, now=now)
        raise RuntimeError("the cause failed")
    assert _add(factory, "k1", now) is True
    assert _add(factory, "k1", now) is False  # a retried request: no second message
    assert set(_rows(factory)) == {"k1"}


def test_retries_with_growing_delays_then_sent_once(factory):
    t0 = datetime.now(UTC)
    now = [t0]
    _add(factory, "r1", t0)
    channel = Recorder([Outcome("retry", error="HTTP 500"), Outcome("retry", error="HTTP 500")])
    policy = outbox.RelayPolicy(retry_base_seconds=10, retry_cap_seconds=3600, max_attempts=5)

    def relay():
        return outbox.relay_once(factory, {"message": channel}, policy, lambda: now[0])

    assert relay() == 1
    row = _rows(factory)["r1"]
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "HTTP 500")
    assert row.next_attempt_at == t0 + timedelta(seconds=10)
    assert relay() == 0  # not due yet
    now[0] = t0 + timedelta(seconds=10)
    assert relay() == 1
    row = _rows(factory)["r1"]
    assert row.next_attempt_at == now[0] + timedelta(seconds=20)  # the delay doubled
    now[0] += timedelta(seconds=20)
    assert relay() == 1
    row = _rows(factory)["r1"]
    assert (row.status, row.attempts, row.provider_ref) == ("sent", 3, f"ref-{row.id}")
    assert row.sent_at == now[0]
    # Every attempt carried the same idempotency key.
    assert [i.key for i in channel.seen] == ["r1"] * 3
    assert [i.attempt for i in channel.seen] == [1, 2, 3]
    now[0] += timedelta(hours=1)
    assert relay() == 0


def test_refused_or_out_of_attempts_is_failed(factory):
    now = datetime.now(UTC)
    _add(factory, "bad", now)
    _add(factory, "flaky", now + timedelta(seconds=1))
    channel = Recorder([Outcome("failed", error="HTTP 400"), Outcome("retry", error="timeout")])
    policy = outbox.RelayPolicy(max_attempts=1)
    outbox.relay_once(factory, {"message": channel}, policy, lambda: now + timedelta(seconds=2))
    rows = _rows(factory)
    assert (rows["bad"].status, rows["bad"].last_error) == ("failed", "HTTP 400")
    assert (rows["flaky"].status, rows["flaky"].last_error) == ("failed", "timeout")


def test_a_row_without_a_channel_waits_for_one(factory):
    now = datetime.now(UTC)
    _add(factory, "w1", now)
    outbox.relay_once(factory, {}, outbox.RelayPolicy(), lambda: now)
    assert _rows(factory)["w1"].status == "pending"


def test_concurrent_relays_send_each_row_exactly_once(factory):
    now = datetime.now(UTC)
    with unit_of_work(factory) as s:
        for i in range(60):
            outbox.enqueue(s, kind="message", topic="t", key=f"c{i}", payload={}, now=now)
    channel = Recorder()

    def slow_send(item, _send=channel.send):
        time.sleep(0.002)
        return _send(item)

    channel.send = slow_send  # type: ignore[method-assign]
    policy = outbox.RelayPolicy(batch=5)
    errors = []

    def worker():
        try:
            while outbox.relay_once(factory, {"message": channel}, policy):
                pass
        except Exception as exc:  # pragma: no cover - shown in the assertion
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    keys = [i.key for i in channel.seen]
    assert sorted(keys) == sorted(f"c{i}" for i in range(60))  # each once, none lost
    assert {r.status for r in _rows(factory).values()} == {"sent"}


_HANGING_RELAY = """
import sys, time
from app.db.session import make_engine, make_session_factory
from app.services import outbox
from app.services.channels import Outcome

class Hang:
    def send(self, item):
        print("sending", item.key, flush=True)
        time.sleep(600)
        return Outcome("sent")

factory = make_session_factory(make_engine(sys.argv[1]))
outbox.relay_once(factory, {"message": Hang()}, outbox.RelayPolicy(batch=5))
"""


# Another process (with the real clock) relays: multi-process, so `slow`.
@pytest.mark.slow
def test_rows_of_a_relay_killed_mid_send_are_sent_after_its_lease(db, factory):
    url, _ = db
    now = datetime.now(UTC)
    for i in range(3):
        _add(factory, f"k9-{i}", now - timedelta(seconds=1))
    proc = subprocess.Popen([sys.executable, "-c", _HANGING_RELAY, url], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("sending k9-0")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    rows = _rows(factory).values()
    assert {r.status for r in rows} == {"sending"}
    lease_end = max(r.lease_until for r in rows)
    channel = Recorder()
    policy = outbox.RelayPolicy(batch=5)
    # While the dead relay's lease runs, nobody else takes its rows ...
    assert outbox.relay_once(factory, {"message": channel}, policy, lambda: now) == 0
    # ... and once it ran out, they are sent (attempt 2: the first may have reached the
    # provider, which recognises the repeated key).
    later = lease_end + timedelta(seconds=1)
    assert outbox.relay_once(factory, {"message": channel}, policy, lambda: later) == 3
    assert sorted(i.key for i in channel.seen) == ["k9-0", "k9-1", "k9-2"]
    assert {i.attempt for i in channel.seen} == {2}
    assert {r.status for r in _rows(factory).values()} == {"sent"}
