"""Start-up tasks: the first admin account from MPP_BOOTSTRAP_ADMIN_PASSWORD."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.models import User
from app.db.session import unit_of_work
from app.services import passwords

log = logging.getLogger(__name__)


def bootstrap(factory: sessionmaker[Session], settings: Settings) -> None:
    if not settings.bootstrap_admin_password:
        return
    try:
        with unit_of_work(factory) as session:
            exists = session.scalar(sa.select(User.id).where(User.role == "admin").limit(1))
            if exists is not None:
                return
            if session.scalar(sa.select(User.id).where(User.username == "admin")) is not None:
                return
            session.add(User(username="admin", full_name="Administrator", role="admin",
                             password_hash=passwords.hash_password(
                                 settings.bootstrap_admin_password)))
    except sa.exc.IntegrityError:
        # Several workers start at once; another one created the admin first. Fine.
        return
    log.info("bootstrap: created user 'admin'")
