"""The `mpp` command: serve, demo, migrate, create-user, config export/import, purge."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _serve(host: str, port: int, workers: int, url: str | None = None) -> None:
    import uvicorn

    from app.config import get_settings
    from app.db.migrate import upgrade

    if url:
        os.environ["MPP_DATABASE_URL"] = url
        get_settings.cache_clear()
    settings = get_settings()
    if settings.is_sqlite and workers > 1:
        print("SQLite serves from one process; use PostgreSQL for several workers.",
              file=sys.stderr)
        workers = 1
    from app.logging_setup import configure_logging

    # The same (JSON in production) log format for the master, the migration and the workers.
    log_config = configure_logging(settings)
    if workers > 1 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        _prepare_metrics_dir()
    upgrade(settings.database_url)
    uvicorn.run("app.asgi:app", host=host, port=port, workers=workers,
                log_level=settings.log_level.lower(), proxy_headers=True, log_config=log_config,
                # Board messages are tiny; compressing each costs ~10-15 % of fan-out CPU.
                ws_per_message_deflate=False)


def _prepare_metrics_dir() -> None:
    """Several workers share their Prometheus values through files in one, empty, directory."""
    import tempfile

    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        import atexit
        import shutil

        directory = tempfile.mkdtemp(prefix="mpp-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory  # inherited by the workers
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
    Path(directory).mkdir(parents=True, exist_ok=True)
    for stale in Path(directory).glob("*.db"):
        stale.unlink(missing_ok=True)  # values of a previous run would be added to ours


def cmd_serve(args: argparse.Namespace) -> None:
    _serve(args.host, args.port, args.workers)


def cmd_migrate(args: argparse.Namespace) -> None:
    from app.config import get_settings
    from app.db.migrate import upgrade

    upgrade(get_settings().database_url, args.revision)
    print("database is at revision", args.revision)


def load_demo(path: Path, *, reset: bool = False, real_hours: bool = False
              ) -> dict[str, str] | None:
    """Migrate the SQLite file and load the demo MPP into it when it is new.

    Returns username -> password of the created users, or None when the file already existed.
    """
    from app.db.migrate import upgrade
    from app.db.session import make_engine, make_session_factory, unit_of_work
    from app.services import yamlio
    from app.services.mallfile import load_mall

    if path.exists() and reset:
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    fresh = not path.exists()
    upgrade(url)
    if not fresh:
        return None
    doc = yamlio.load((Path(__file__).parent / "data" / "demo_mall.yaml").read_text())
    engine = make_engine(url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            return load_mall(session, doc, always_open=not real_hours)
    finally:
        engine.dispose()


DEMO_DEVICES = (("kiosk", "Kiosk demo"), ("display", "Papan demo"),
                ("tablet", "Tablet survei demo"))


def demo_devices(path: Path) -> dict[str, str]:
    """Give the demo a kiosk and a display device with fresh tokens; returns kind -> path.

    Tokens are stored hashed, so each start revokes the previous demo devices and prints new
    ones: the URLs printed are always the ones that work.
    """
    from datetime import UTC, datetime

    import sqlalchemy as sa

    from app.db.models import Agency, Counter, Device, Site
    from app.db.session import make_engine, make_session_factory, unit_of_work
    from app.services import devices
    from app.services.context import Ctx
    from app.services.mallfile import SYSTEM

    engine = make_engine(f"sqlite:///{path}")
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            ctx = Ctx(session=session, now=datetime.now(UTC), actor=SYSTEM)
            site = session.scalars(sa.select(Site).order_by(Site.id)).first()
            if site is None:
                return {}
            paths: dict[str, str] = {}
            for kind, name in DEMO_DEVICES:
                old = session.scalars(sa.select(Device).where(
                    Device.site_id == site.id, Device.kind == kind, Device.name == name,
                    Device.is_active.is_(True)))
                for device in old:
                    devices.revoke_device(ctx, device.id)
                data: dict[str, object] = {"site_id": site.id, "kind": kind, "name": name}
                if kind == "tablet":
                    # The survey tablet stands at the site's first counter.
                    counter_id = session.scalar(
                        sa.select(Counter.id).join(Agency, Agency.id == Counter.agency_id)
                        .where(Agency.site_id == site.id).order_by(Counter.id).limit(1))
                    if counter_id is None:
                        continue
                    data["counter_id"] = counter_id
                paths[kind] = devices.issue_device(ctx, data).url
            paths["site_id"] = str(site.id)
            return paths
    finally:
        engine.dispose()


def demo_screens(base: str, paths: dict[str, str]) -> str:
    """The demo's screens, as URLs that work when opened as printed."""
    kiosk = paths.get("kiosk", "/kiosk")
    token = kiosk.partition("token=")[2]
    checkin = "/kiosk/checkin" + (f"?token={token}" if token else "")
    rows = [
        ("Kiosk (take a ticket)", kiosk, ""),
        ("Display board", paths.get("display", "/display"), ""),
        ("Booking check-in kiosk", checkin, ""),
        ("Online booking (phone)", "/booking", ""),
        ("Counter console", "/counter", "sign in as petugas_dukcapil (or another petugas_*)"),
        ("Survey tablet", paths.get("tablet", "/survey"), "bound to the first counter"),
        ("Dashboard", "/dashboard", "manajer or admin"),
        ("Reports", "/dashboard/reports", "manajer or admin"),
        ("IKM (SKM survey)", "/dashboard/ikm", "manajer or admin"),
        ("Admin", "/admin", "admin"),
        ("API docs", "/docs", ""),
        ("Front page", "/", "every screen, with links"),
    ]
    lines = ["Screens:"]
    for label, path, note in rows:
        lines.append(f"  {label:24} {base}{path}" + (f"   ({note})" if note else ""))
    return "\n".join(lines)


def cmd_demo(args: argparse.Namespace) -> None:
    path = Path(args.db).resolve()
    url = f"sqlite:///{path}"
    made = load_demo(path, reset=args.reset, real_hours=args.real_hours)
    if made is not None:
        print("\nDemo MPP loaded into", path)
        print("Passwords are shown once; they are not stored anywhere in clear text.\n")
        print(f"  {'username':28} password")
        for username, password in made.items():
            print(f"  {username:28} {password}")
    else:
        print(f"Using the existing demo database {path} (--reset starts afresh; "
              "the logins printed before still work).")
    print()
    print(demo_screens(f"http://{args.host}:{args.port}", demo_devices(path)))
    print("\nThe kiosk and display URLs carry a device token made for this start; "
          "the page keeps it and drops it from the address bar.", flush=True)
    # The demo shows the phone opt-in; its messages go to this console (phones masked).
    if os.environ.setdefault("MPP_NOTIFY_PROVIDER", "log") == "log":
        print("Citizens' WhatsApp/SMS messages are written to this console "
              "(MPP_NOTIFY_PROVIDER=log).", flush=True)
    print(flush=True)
    _serve(args.host, args.port, 1, url)


def cmd_create_user(args: argparse.Namespace) -> None:
    import getpass
    from datetime import UTC, datetime

    from app.config import get_settings
    from app.db.session import make_engine, make_session_factory, unit_of_work
    from app.services import config
    from app.services.context import Ctx
    from app.services.mallfile import SYSTEM

    password = args.password or os.environ.get("MPP_NEW_USER_PASSWORD") or getpass.getpass()
    engine = make_engine(get_settings().database_url)
    with unit_of_work(make_session_factory(engine)) as session:
        user = config.create_user(
            Ctx(session=session, now=datetime.now(UTC), actor=SYSTEM),
            {"username": args.username, "password": password, "role": args.role,
             "full_name": args.full_name, "agency_id": args.agency_id, "site_id": args.site_id},
        )
        print(f"created user {user.username} ({user.role}), id {user.id}")
    engine.dispose()


def cmd_config_export(args: argparse.Namespace) -> None:
    from app.config import get_settings
    from app.db.session import make_engine, make_session_factory, unit_of_work
    from app.services import mallfile

    engine = make_engine(get_settings().database_url)
    with unit_of_work(make_session_factory(engine), write=False) as session:
        text = mallfile.dump(mallfile.export_mall(session))
    engine.dispose()
    if args.output and args.output != "-":
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def cmd_config_import(args: argparse.Namespace) -> None:
    """Check the whole file, show the diff, then apply it in one transaction (or not)."""
    from app.config import get_settings
    from app.db.session import make_engine, make_session_factory
    from app.services import mallfile

    lang = "en" if args.lang == "en" else "id"
    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except OSError as exc:
        sys.exit(f"{args.file}: {exc.strerror}")
    engine = make_engine(get_settings().database_url)
    session = make_session_factory(engine)()
    try:
        result = mallfile.import_text(session, text)
        if args.dry_run:
            session.rollback()
        else:
            session.commit()
    except mallfile.ConfigFileError as err:
        session.rollback()
        print(err.text(lang, args.file), file=sys.stderr)
        print("Nothing was changed." if lang == "en" else "Tidak ada yang diubah.",
              file=sys.stderr)
        sys.exit(1)
    finally:
        session.close()
        engine.dispose()
    for change in result.changes:
        print(change)
    if not result.changes:
        print("No changes." if lang == "en" else "Tidak ada perubahan.")
    elif args.dry_run:
        print(f"\n{len(result.changes)} " + (
            "changes; nothing written (--dry-run)." if lang == "en"
            else "perubahan; belum ada yang ditulis (--dry-run)."))
    else:
        print(f"\n{len(result.changes)} " + (
            "changes applied." if lang == "en" else "perubahan diterapkan."))
    if result.passwords and not args.dry_run:
        print("\nNew users (passwords are shown once):" if lang == "en"
              else "\nPengguna baru (kata sandi hanya ditampilkan sekali):")
        for username, password in result.passwords.items():
            print(f"  {username:28} {password}")


def cmd_purge(args: argparse.Namespace) -> None:
    from datetime import UTC, datetime

    from app.config import get_settings
    from app.db.session import make_engine, make_session_factory
    from app.services import purge

    settings = get_settings()
    engine = make_engine(settings.database_url)
    session = make_session_factory(engine)()
    try:
        days = args.days or purge.retention_days(session, settings.retention_days)
        result = purge.purge(session, now=datetime.now(UTC), days=days)
        if args.dry_run:
            session.rollback()
        else:
            session.commit()
    finally:
        session.close()
        engine.dispose()
    verb = "would clear" if args.dry_run else "cleared"
    print(f"retention {days} days (before {result.cutoff}): {verb} "
          f"{result.bookings} booking contacts, {result.survey_comments} survey comments, "
          f"{result.ticket_notes} ticket notes, {result.event_notes} event notes, "
          f"{result.audit_ips} audit IP addresses")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mpp", description="MPP queue system")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="serve the app (migrates first)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--workers", type=int, default=1)
    s.set_defaults(func=cmd_serve)

    d = sub.add_parser("demo", help="load the demo MPP into a SQLite file and serve it")
    d.add_argument("--db", default="mpp-demo.db")
    d.add_argument("--host", default="127.0.0.1")
    d.add_argument("--port", type=int, default=8000)
    d.add_argument("--reset", action="store_true", help="start from an empty database")
    d.add_argument("--real-hours", action="store_true",
                   help="keep the demo's real opening hours (default: open at all hours)")
    d.set_defaults(func=cmd_demo)

    m = sub.add_parser("migrate", help="migrate the database to the newest revision")
    m.add_argument("revision", nargs="?", default="heads")
    m.set_defaults(func=cmd_migrate)

    u = sub.add_parser("create-user", help="create a user")
    u.add_argument("username")
    u.add_argument("--role", choices=["admin", "manager", "officer"], default="admin")
    u.add_argument("--password", help="default: MPP_NEW_USER_PASSWORD or a prompt")
    u.add_argument("--full-name")
    u.add_argument("--agency-id", type=int)
    u.add_argument("--site-id", type=int)
    u.set_defaults(func=cmd_create_user)

    c = sub.add_parser("config", help="configuration as a file (export / import)")
    csub = c.add_subparsers(dest="config_command", required=True)
    ce = csub.add_parser("export", help="write the configuration as YAML (stdout by default)")
    ce.add_argument("-o", "--output", help="file to write (default: stdout)")
    ce.set_defaults(func=cmd_config_export)
    ci = csub.add_parser("import", help="check a YAML file, show the diff and apply it")
    ci.add_argument("file")
    ci.add_argument("--dry-run", action="store_true", help="show the diff, change nothing")
    ci.add_argument("--lang", choices=["id", "en"], default="id")
    ci.set_defaults(func=cmd_config_import)

    pg = sub.add_parser("purge", help="clear personal data older than the retention period")
    pg.add_argument("--days", type=int, help="default: the admin setting or MPP_RETENTION_DAYS")
    pg.add_argument("--dry-run", action="store_true", help="count only, change nothing")
    pg.set_defaults(func=cmd_purge)
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
