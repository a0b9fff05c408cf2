"""Configuration as a file: `mpp config export` / `mpp config import` (round trip, idempotency,
--dry-run diff, and broken files that change nothing and name the wrong line)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.db.migrate import upgrade
from app.db.models import AuditLog, Counter, Service, User
from app.db.session import make_engine, make_session_factory, unit_of_work
from app.services import mallfile
from tests.support.databases import create_database, drop_database

ROOT = Path(__file__).resolve().parents[2]
DEMO = (ROOT / "app" / "data" / "demo_mall.yaml").read_text()


def _small() -> str:
    """The demo with three users: every password costs about a second of argon2."""
    doc = mallfile.parse(DEMO)[0]
    doc["sites"][0]["users"] = [u for u in doc["sites"][0]["users"]
                                if u["username"] in ("petugas_dukcapil", "manajer", "admin")]
    return mallfile.dump(doc)


SMALL = _small()


@pytest.fixture
def fresh_db(backend, tmp_path):
    """Factory of new, migrated, empty databases of this backend."""
    urls: list[str] = []
    engines: list[sa.Engine] = []

    def make() -> tuple[str, sa.orm.sessionmaker]:
        url = create_database(backend, tmp_path)
        upgrade(url)
        urls.append(url)
        engine = make_engine(url, poolclass=sa.pool.NullPool)
        engines.append(engine)
        return url, make_session_factory(engine)

    yield make
    for engine in engines:
        engine.dispose()
    for url in urls:
        drop_database(url)


def mpp(url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MPP_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, input=stdin)


def mpp_here(url: str, *args: str, monkeypatch, capsys) -> subprocess.CompletedProcess[str]:
    """The same command in this process (a new interpreter costs seconds; the round trip above
    runs the real command line)."""
    from app import cli
    from app.config import get_settings

    monkeypatch.setenv("MPP_DATABASE_URL", url)
    get_settings.cache_clear()
    code: int | str | None = 0
    try:
        cli.main(list(args))
    except SystemExit as exit_:
        code = exit_.code
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr()
    err = out.err + (f"{code}\n" if isinstance(code, str) else "")
    rc = code if isinstance(code, int) else (0 if code is None else 1)
    return subprocess.CompletedProcess(list(args), rc, out.out, err)


def export(factory) -> str:
    with unit_of_work(factory) as session:
        return mallfile.dump(mallfile.export_mall(session))


def import_text(factory, text: str) -> mallfile.ImportResult:
    with unit_of_work(factory) as session:
        return mallfile.import_text(session, text)


def line_of(text: str, needle: str, nth: int = 1) -> int:
    start = -1
    for _ in range(nth):
        start = text.index(needle, start + 1)
    return text.count("\n", 0, start) + 1


def test_round_trip_through_the_command_line(fresh_db, tmp_path):
    url1, f1 = fresh_db()
    demo_file = tmp_path / "demo.yaml"
    demo_file.write_text(DEMO)
    r = mpp(url1, "config", "import", str(demo_file))
    assert r.returncode == 0, r.stderr
    assert "+ service mpp-contoh/DUKCAPIL-1: AA Perekaman KTP-el" in r.stdout
    assert "petugas_dukcapil" in r.stdout.split("sekali):")[1]  # passwords shown once
    first = mpp(url1, "config", "export")
    assert first.returncode == 0, first.stderr
    mall = tmp_path / "mall.yaml"
    mall.write_text(first.stdout)

    url2, f2 = fresh_db()
    r = mpp(url2, "config", "import", str(mall))
    assert r.returncode == 0, r.stderr
    second = mpp(url2, "config", "export", "-o", str(tmp_path / "again.yaml"))
    assert second.returncode == 0
    assert (tmp_path / "again.yaml").read_text() == first.stdout
    # The demo file is itself such a file: its content is what the export says.
    assert mallfile.parse(first.stdout)[0] == mallfile.parse(DEMO)[0]


def test_import_is_idempotent(fresh_db):
    _, factory = fresh_db()
    first = import_text(factory, SMALL)
    assert sorted(first.passwords) == ["admin", "manajer", "petugas_dukcapil"]
    assert first.changes
    with unit_of_work(factory) as session:
        audits = session.scalar(sa.select(sa.func.count()).select_from(AuditLog))
    again = import_text(factory, SMALL)
    assert again.changes == [] and again.passwords == {}
    with unit_of_work(factory) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(AuditLog)) == audits


def test_dry_run_shows_the_diff_and_writes_nothing(fresh_db, tmp_path):
    url, factory = fresh_db()
    import_text(factory, SMALL)
    before = export(factory)
    edited = (SMALL.replace("daily_quota: 150", "daily_quota: 200", 1)
              .replace("name: Loket 3\n", "name: Loket Tiga\n", 1))
    # Drop the last counter: absent things are deactivated, not deleted.
    cut = edited.index("  - agency: PLN\n    name: Loket 29")
    edited = edited[:cut] + edited[edited.index("  users:"):]
    path = tmp_path / "mall.yaml"
    path.write_text(edited)
    r = mpp(url, "config", "import", str(path), "--dry-run", "--lang", "en")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "~ service mpp-contoh/DUKCAPIL-1: daily_quota 150 → 200",
        "~ counter mpp-contoh/DUKCAPIL#3: name Loket 3 → Loket Tiga",
        "- counter mpp-contoh/PLN#29: nonaktif",
        "",
        "3 changes; nothing written (--dry-run).",
    ]
    assert export(factory) == before
    r = mpp(url, "config", "import", str(path))
    assert r.returncode == 0 and "3 perubahan diterapkan." in r.stdout
    with unit_of_work(factory) as session:
        sv = session.scalar(sa.select(Service).where(Service.code == "DUKCAPIL-1"))
        assert sv.daily_quota == 200
        last = session.scalar(sa.select(Counter).where(Counter.number == 29))
        assert last is not None and last.is_active is False
    assert "active: false" in export(factory)
    assert mpp(url, "config", "import", str(path)).stdout.strip() == "Tidak ada perubahan."


BROKEN = [
    # (description, edit, needle whose line is reported, message)
    ("yaml syntax", lambda t: t.replace("  name: Mal Pelayanan Publik Kota Contoh\n",
                                        "  name: [Mal Pelayanan\n", 1),
     None, "YAML tidak valid"),
    ("prefix clash", lambda t: t.replace("prefix: AB", "prefix: AA  # sama", 1),
     "prefix: AA  # sama", "Prefiks 'AA' sudah dipakai layanan lain di lokasi ini"),
    ("negative quota", lambda t: t.replace("daily_quota: 150", "daily_quota: -5", 1),
     "daily_quota: -5", "kuota tidak boleh negatif"),
    ("closing before opening", lambda t: t.replace('- "16:30"', '- "06:30"', 1),
     "opening_hours:", "Jumat: jam tutup harus setelah jam buka (07:30-06:30)"),
    ("unknown service at a counter", lambda t: t.replace("    - DUKCAPIL-6\n",
                                                          "    - DUKCAPIL-66\n", 1),
     "- DUKCAPIL-66", "layanan 'DUKCAPIL-66' tidak ada di lokasi ini"),
    ("typo in a key", lambda t: t.replace("typical_minutes: 8", "typical_minuts: 8", 1),
     "typical_minuts", "kunci 'typical_minuts' tidak dikenal"),
    ("bad special-day hours", lambda t: t.replace('      - "12:00"\n    note: Cuti',
                                                  '      - "07:00"\n    note: Cuti', 1),
     "ranges:\n    - - \"07:30\"", "jam tutup harus setelah jam buka (07:30-07:00)"),
    ("unknown time zone", lambda t: t.replace("timezone: Asia/Jakarta", "timezone: Asia/Bandung"),
     "timezone: Asia/Bandung", "zona waktu 'Asia/Bandung' tidak dikenal"),
]


@pytest.fixture(scope="module")
def loaded_db(backend, tmp_path_factory):
    """One database holding the (small) demo, shared by the broken-file cases: they must
    leave it unchanged anyway, which each case checks."""
    url = create_database(backend, tmp_path_factory.mktemp("cfg"))
    upgrade(url)
    engine = make_engine(url, poolclass=sa.pool.NullPool)
    factory = make_session_factory(engine)
    import_text(factory, SMALL)
    yield url, factory
    engine.dispose()
    drop_database(url)


@pytest.mark.parametrize("case", BROKEN, ids=[c[0] for c in BROKEN])
def test_broken_file_changes_nothing_and_names_the_line(loaded_db, tmp_path, case, monkeypatch,
                                                        capsys):
    _, edit, needle, message = case
    url, factory = loaded_db
    before = export(factory)
    text = edit(SMALL)
    assert text != SMALL
    with unit_of_work(factory) as session:
        audits = session.scalar(sa.select(sa.func.count()).select_from(AuditLog))
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    r = mpp_here(url, "config", "import", str(path), monkeypatch=monkeypatch, capsys=capsys)
    assert r.returncode == 1
    assert message in r.stderr and "Tidak ada yang diubah." in r.stderr
    if needle is not None:
        assert r.stderr.startswith(f"{path}:{line_of(text, needle)}: "), r.stderr
    else:
        # Found where the sequence should have closed; the message names where it opened.
        assert r.stderr.startswith(f"{path}:{line_of(text, '[Mal') + 1}: YAML tidak valid")
        assert f"baris/line {line_of(text, '[Mal')})" in r.stderr
    assert export(factory) == before
    with unit_of_work(factory) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(AuditLog)) == audits


def test_a_late_error_rolls_back_earlier_changes(fresh_db):
    """The clash is found only against the database, after other changes were made."""
    _, factory = fresh_db()
    import_text(factory, SMALL)
    before = export(factory)
    # An agency is renamed first (applied), then a service comes under a new code with the
    # prefix of one that exists in the database but is left out of the file.
    text = SMALL.replace("name: Disdukcapil\n", "name: Disdukcapil Baru\n", 1)
    text = text.replace("code: DUKCAPIL-2\n      name: Cetak ulang KTP-el\n      prefix: AB",
                        "code: DUKCAPIL-2B\n      name: Cetak ulang KTP-el\n      prefix: AB", 1)
    text = text.replace("    - DUKCAPIL-2\n", "    - DUKCAPIL-2B\n")
    # DUKCAPIL-2 keeps prefix AB in the database (deactivated, the prefix stays unique).
    with pytest.raises(mallfile.ConfigFileError) as err:
        import_text(factory, text)
    assert "AB" in err.value.message_id and err.value.line == line_of(text, "prefix: AB")
    assert export(factory) == before


def test_users_are_exported_without_passwords(fresh_db):
    _, factory = fresh_db()
    result = import_text(factory, SMALL)
    text = export(factory)
    for password in result.passwords.values():
        assert password not in text
    assert "password:" not in text and "password_hash" not in text
    with unit_of_work(factory) as session:
        manager = session.scalar(sa.select(User).where(User.username == "manajer"))
        assert manager.role == "manager" and manager.site_id is not None
