"""The `mpp` command: serve, demo, migrate, create-user."""

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
    upgrade(settings.database_url)
    uvicorn.run("app.asgi:app", host=host, port=port, workers=workers,
                log_level=settings.log_level.lower(), proxy_headers=True)


def cmd_serve(args: argparse.Namespace) -> None:
    _serve(args.host, args.port, args.workers)


def cmd_migrate(args: argparse.Namespace) -> None:
    from app.config import get_settings
    from app.db.migrate import upgrade

    upgrade(get_settings().database_url, args.revision)
    print("database is at revision", args.revision)


def cmd_demo(args: argparse.Namespace) -> None:
    from app.db.migrate import upgrade
    from app.db.session import make_engine, make_session_factory, unit_of_work
    from app.services import yamlio
    from app.services.mallfile import load_mall

    path = Path(args.db).resolve()
    if path.exists() and args.reset:
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    fresh = not path.exists()
    upgrade(url)
    if fresh:
        doc = yamlio.load((Path(__file__).parent / "data" / "demo_mall.yaml").read_text())
        engine = make_engine(url)
        with unit_of_work(make_session_factory(engine)) as session:
            made = load_mall(session, doc, always_open=not args.real_hours)
        engine.dispose()
        base = f"http://{args.host}:{args.port}"
        print("\nDemo MPP loaded into", path)
        print("Passwords are shown once; they are not stored anywhere in clear text.\n")
        print(f"  {'username':28} password")
        for username, password in made.items():
            print(f"  {username:28} {password}")
        print(f"""
Screens:
  Kiosk            {base}/kiosk
  Display board    {base}/display
  Counter console  {base}/counter     (sign in as a petugas_* user)
  Dashboard        {base}/dashboard   (manajer or admin)
  Admin            {base}/admin       (admin)
  Online booking   {base}/booking
  API docs         {base}/docs
""")
    else:
        print(f"Using the existing demo database {path} (--reset starts afresh).")
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
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
