"""Site-local time: today's date, opening hours and special days in the site's zone."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db.models import Service, Site, SpecialDay
from app.domain import hours
from app.domain.errors import DomainError

DAY_NAMES_ID = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"]
DAY_NAMES_EN = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def local_now(site: Site, now: datetime) -> datetime:
    return now.astimezone(ZoneInfo(site.timezone))


def local_day(site: Site, now: datetime) -> date:
    return local_now(site, now).date()


def special_days(session: Session, site_id: int, start: date, days: int = 15) -> hours.SpecialDays:
    rows = session.scalars(
        sa.select(SpecialDay).where(
            SpecialDay.site_id == site_id,
            SpecialDay.day >= start,
            SpecialDay.day < start + timedelta(days=days),
        )
    )
    return {
        row.day: [(time.fromisoformat(a), time.fromisoformat(b)) for a, b in (row.ranges or [])]
        for row in rows
    }


def opening_hint(next_open: datetime | None, today: date) -> tuple[str, str]:
    """The ' Buka kembali ...' tail of a closed/quota message, in both languages."""
    if next_open is None:
        return "", ""
    hhmm = next_open.strftime("%H.%M")
    if next_open.date() == today:
        return f"; buka kembali pukul {hhmm}", f"; opens again at {next_open.strftime('%H:%M')}"
    if next_open.date() == today + timedelta(days=1):
        tomorrow_en = "; opens again tomorrow at " + next_open.strftime("%H:%M")
        return f"; buka kembali besok pukul {hhmm}", tomorrow_en
    wd = next_open.weekday()
    d = next_open.strftime("%d/%m")
    return (
        f"; buka kembali {DAY_NAMES_ID[wd]} {d} pukul {hhmm}",
        f"; opens again {DAY_NAMES_EN[wd]} {d} at {next_open.strftime('%H:%M')}",
    )


def service_open_state(
    session: Session, service: Service, site: Site, now: datetime,
    special: hours.SpecialDays | None = None,
) -> tuple[bool, datetime | None]:
    """Whether the service issues tickets now, and when it next opens."""
    lnow = local_now(site, now)
    if special is None:
        special = special_days(session, site.id, lnow.date())
    if hours.is_open(service.opening_hours, lnow, special):
        return True, None
    nxt = hours.next_opening(service.opening_hours, lnow, special)
    if nxt is not None and nxt <= lnow:
        return True, None
    return False, nxt


def ensure_open(session: Session, service: Service, site: Site, now: datetime) -> None:
    is_open, nxt = service_open_state(session, service, site, now)
    if not is_open:
        hint_id, hint_en = opening_hint(nxt, local_day(site, now))
        raise DomainError(
            "service_closed",
            next_hint_id=hint_id,
            next_hint_en=hint_en,
            next_opening=nxt.isoformat() if nxt else None,
        )
