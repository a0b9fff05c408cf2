"""The `mpp` command: demo loading, migrate, create-user, serve (without serving)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from app import cli
from app.config import get_settings
from app.db.models import Agency, Counter, Service, Site, User
from app.db.session import make_engine
from app.domain.errors import DomainError
from app.services import passwords

ROOT = Path(__file__).resolve().parents[2]
DEMO = yaml.safe_load((ROOT / "app" / "data" / "demo_mall.yaml").read_text())


def counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {m.__name__.lower(): conn.execute(sa.select(sa.func.count()).select_from(m))
                    .scalar_one() for m in (Site, Agency, Service, Counter, User)}
    finally:
        engine.dispose()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("MPP_DATABASE_URL", url)
    monkeypatch.delenv("MPP_BOOTSTRAP_ADMIN_PASSWORD", raising=False)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_demo_loads_the_demo_mall_and_serves_it(tmp_path, monkeypatch, capsys):
    served: list[tuple[Any, ...]] = []
    monkeypatch.setattr(cli, "_serve", lambda *a, **k: served.append(a))
    db = tmp_path / "demo.db"
    cli.main(["demo", "--db", str(db), "--port", "8123"])

    n = counts(f"sqlite:///{db}")
    site = DEMO["sites"][0]
    assert n["agency"] == 12 == len(site["agencies"])
    assert n["counter"] == len(site["counters"]) and 25 <= n["counter"] <= 35
    assert n["service"] == sum(len(a["services"]) for a in site["agencies"])
    assert n["user"] == len(site["users"])
    # It serves the file it loaded, on one worker, on the port asked for.
    assert served == [("127.0.0.1", 8123, 1, f"sqlite:///{db.resolve()}")]

    out = capsys.readouterr().out
    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        users = conn.execute(sa.select(User.username, User.password_hash, User.role)).all()
    engine.dispose()
    roles = {role for _, _, role in users}
    assert {"admin", "manager", "officer"} <= roles
    printed = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in {u for u, _, _ in users}:
            printed[parts[0]] = parts[1]
    # Every user's password is printed once, random, and it is the one stored (as argon2).
    assert set(printed) == {u for u, _, _ in users}
    assert len(set(printed.values())) == len(printed)
    for username, password_hash, _ in users[:2]:
        assert password_hash.startswith("$argon2")
        assert passwords.verify_password(printed[username], password_hash)
        assert printed[username] not in (ROOT / "app" / "data" / "demo_mall.yaml").read_text()

    # A second start keeps the data (and prints no passwords); --reset starts afresh.
    cli.main(["demo", "--db", str(db)])
    assert "password" not in capsys.readouterr().out.split("\n")[0]
    assert counts(f"sqlite:///{db}") == n
    made = cli.load_demo(db, reset=True)
    assert made is not None and set(made) == set(printed) and made != printed
    assert counts(f"sqlite:///{db}") == n


def test_demo_real_hours_keeps_opening_hours(tmp_path):
    db = tmp_path / "hours.db"
    assert cli.load_demo(db) is not None
    assert _with_hours(db) == 0  # the demo is open at all hours by default
    assert cli.load_demo(db, reset=True, real_hours=True) is not None
    assert _with_hours(db) > 0


def _with_hours(db: Path) -> int:
    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        hours = conn.execute(sa.select(Service.opening_hours)).scalars().all()
    engine.dispose()
    return sum(1 for h in hours if h is not None)


def test_migrate_and_create_user(database, capsys):
    cli.main(["migrate"])
    assert "heads" in capsys.readouterr().out
    cli.main(["create-user", "budi", "--role", "admin", "--password", "rahasia-budi-1",
              "--full-name", "Budi Santoso"])
    assert "created user budi (admin)" in capsys.readouterr().out
    engine = make_engine(database)
    with engine.connect() as conn:
        row = conn.execute(sa.select(User.role, User.full_name, User.password_hash)
                           .where(User.username == "budi")).one()
    engine.dispose()
    assert row[0] == "admin" and row[1] == "Budi Santoso"
    assert passwords.verify_password("rahasia-budi-1", row[2])
    assert not passwords.verify_password("salah", row[2])

    with pytest.raises(DomainError) as err:
        cli.main(["create-user", "budi", "--password", "rahasia-budi-2"])
    assert err.value.code == "username_taken"
    with pytest.raises(DomainError) as err:
        cli.main(["create-user", "pendek", "--password", "123"])
    assert err.value.code == "invalid_value"
    # An officer needs an agency.
    with pytest.raises(DomainError) as err:
        cli.main(["create-user", "ani", "--role", "officer", "--password", "rahasia-ani-1"])
    assert err.value.code == "invalid_value"


def test_create_user_reads_password_from_environment(database, monkeypatch, capsys):
    cli.main(["migrate"])
    monkeypatch.setenv("MPP_NEW_USER_PASSWORD", "dari-lingkungan-1")
    cli.main(["create-user", "citra", "--role", "manager"])
    engine = make_engine(database)
    with engine.connect() as conn:
        h = conn.execute(sa.select(User.password_hash).where(User.username == "citra")
                         ).scalar_one()
    engine.dispose()
    assert passwords.verify_password("dari-lingkungan-1", h)


def test_serve_migrates_and_keeps_sqlite_on_one_worker(database, monkeypatch, capsys):
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    cli.main(["serve", "--host", "0.0.0.0", "--port", "9001", "--workers", "4"])
    assert len(calls) == 1
    assert calls[0]["app"] == "app.asgi:app"
    assert (calls[0]["host"], calls[0]["port"], calls[0]["workers"]) == ("0.0.0.0", 9001, 1)
    assert "SQLite" in capsys.readouterr().err
    # The schema is there before the server starts.
    assert counts(database)["site"] == 0


def test_parser_rejects_bad_arguments(capsys):
    with pytest.raises(SystemExit):
        cli.main(["serve", "--port", "not-a-port"])
    with pytest.raises(SystemExit):
        cli.main(["create-user", "x", "--role", "root"])
    with pytest.raises(SystemExit):
        cli.main([])


def test_demo_prints_device_urls_that_work(tmp_path, monkeypatch, capsys):
    """The printed kiosk and board URLs carry live device tokens; a new start makes new ones."""
    import re

    from app.db.models import Device
    from app.services import auth

    monkeypatch.setattr(cli, "_serve", lambda *a, **k: None)
    db = tmp_path / "demo.db"

    def printed_tokens() -> dict[str, str]:
        out = capsys.readouterr().out
        found = dict(re.findall(r"^  (Kiosk \(take a ticket\)|Display board)\s+\S+token=(\S+)$",
                                out, re.M))
        assert set(found) == {"Kiosk (take a ticket)", "Display board"}, out
        assert "/kiosk/checkin?token=" + found["Kiosk (take a ticket)"] in out
        return found

    def active(token: str) -> str | None:
        engine = make_engine(f"sqlite:///{db}")
        with engine.connect() as conn:
            row = conn.execute(sa.select(Device.kind, Device.is_active).where(
                Device.token_hash == auth.token_hash(token))).first()
        engine.dispose()
        return row.kind if row is not None and row.is_active else None

    cli.main(["demo", "--db", str(db)])
    first = printed_tokens()
    assert active(first["Kiosk (take a ticket)"]) == "kiosk"
    assert active(first["Display board"]) == "display"
    cli.main(["demo", "--db", str(db)])
    second = printed_tokens()
    assert active(second["Kiosk (take a ticket)"]) == "kiosk"
    assert active(first["Kiosk (take a ticket)"]) is None  # the old demo kiosk is revoked


def test_demo_mall_offers_booking_and_a_counter_for_every_service() -> None:
    """The demo's /booking is not empty and no demo service waits for a counter that never
    comes (a stranger's first ticket must be callable)."""


    doc = yaml.safe_load((Path(__file__).resolve().parents[2] / "app" / "data"
                          / "demo_mall.yaml").read_text())
    for site in doc["sites"]:
        services = [sv for agency in site["agencies"] for sv in agency["services"]
                    if sv.get("is_active", True)]
        served = {code for counter in site["counters"] if counter.get("is_active", True)
                  for code in counter["services"]}
        assert {sv["code"] for sv in services} <= served, site["code"]
        bookable = [sv["code"] for sv in services if sv.get("booking_enabled")]
        assert len(bookable) >= 5, bookable
        assert len({code.split("-")[0] for code in bookable}) >= 3  # several agencies
