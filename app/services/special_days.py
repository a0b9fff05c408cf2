"""Holidays and special hours per site (cuti bersama, Ramadan hours).

A special day replaces every service's weekly hours for that date: no ranges means closed all
day. The kiosk (sitetime.special_days) and booking read the same rows.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import sqlalchemy as sa

from app.db.models import Site, SpecialDay
from app.domain import events as ev
from app.domain import national_holidays
from app.domain.errors import DomainError, InvalidValue, NotFound
from app.domain.events import Event
from app.services.config import audit
from app.services.context import Ctx
from app.services.policy import require_role, site_ids_in_scope
from app.services.sitetime import local_day

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def validate_ranges(ranges: Any) -> list[list[str]]:
    """Check [[open, close], ...]: HH:MM, closing after opening, no overlap; sorted."""
    if not isinstance(ranges, list):
        raise InvalidValue("ranges", "harus berupa daftar [buka, tutup]",
                           "must be a list of [open, close]")
    out: list[list[str]] = []
    for rng in ranges:
        if not isinstance(rng, list | tuple) or len(rng) != 2:
            raise InvalidValue("ranges", "setiap rentang harus berisi tepat [buka, tutup]",
                               "each range must be exactly [open, close]")
        for value in rng:
            if not isinstance(value, str) or not _HHMM.match(value):
                raise InvalidValue("ranges", f"jam '{value}' tidak valid (format HH:MM)",
                                   f"invalid time '{value}' (use HH:MM)")
        if rng[1] <= rng[0]:
            raise InvalidValue("ranges", f"jam tutup harus setelah jam buka ({rng[0]}-{rng[1]})",
                               f"closing time must be after opening time ({rng[0]}-{rng[1]})")
        out.append([rng[0], rng[1]])
    out.sort()
    for prev, cur in zip(out, out[1:], strict=False):
        if cur[0] < prev[1]:
            raise InvalidValue(
                "ranges", f"rentang {prev[0]}-{prev[1]} dan {cur[0]}-{cur[1]} tumpang tindih",
                f"ranges {prev[0]}-{prev[1]} and {cur[0]}-{cur[1]} overlap")
    return out


def _site_for_read(ctx: Ctx, site_id: int) -> Site:
    actor = require_role(ctx.actor, "admin", "manager", "officer")
    site = ctx.session.get(Site, site_id)
    scope = site_ids_in_scope(ctx.session, actor)
    if site is None or (scope is not None and site_id not in scope):
        raise NotFound("Lokasi", "Site")
    return site


def _site_for_write(ctx: Ctx, site_id: int) -> Site:
    site = _site_for_read(ctx, site_id)
    actor = require_role(ctx.actor, "admin", "manager")
    # Site hours concern every agency, so an agency's manager may not change them.
    if actor.role == "manager" and (actor.agency_id is not None or actor.site_id != site_id):
        raise DomainError("forbidden")
    return site


def list_special_days(ctx: Ctx, site_id: int, start: date | None = None) -> list[SpecialDay]:
    _site_for_read(ctx, site_id)
    stmt = sa.select(SpecialDay).where(SpecialDay.site_id == site_id).order_by(SpecialDay.day)
    if start is not None:
        stmt = stmt.where(SpecialDay.day >= start)
    return list(ctx.session.scalars(stmt))


def put_special_day(ctx: Ctx, site_id: int, data: dict[str, Any]) -> tuple[SpecialDay, bool]:
    """Create or replace the special day of that date; True when it is new."""
    site = _site_for_write(ctx, site_id)
    ranges = validate_ranges(data.get("ranges") or [])
    note = (data.get("note") or "").strip() or None
    day: date = data["day"]
    row = ctx.session.scalar(sa.select(SpecialDay).where(SpecialDay.site_id == site.id,
                                                         SpecialDay.day == day))
    created = row is None
    if row is None:
        row = SpecialDay(site_id=site.id, day=day, ranges=ranges, note=note)
        ctx.session.add(row)
        ctx.session.flush()
        audit(ctx, "create", "special_day", row.id,
              {"site_id": site.id, "day": day.isoformat(), "ranges": ranges, "note": note})
    else:
        changes: dict[str, Any] = {}
        if row.ranges != ranges:
            changes["ranges"] = ranges
            row.ranges = ranges
        if row.note != note:
            changes["note"] = note
            row.note = note
        if not changes:
            return row, False
        audit(ctx, "update", "special_day", row.id, {"day": day.isoformat(), **changes})
    ctx.emit(Event(ev.CONFIG_CHANGED, site.id, {"entity": "special_day", "id": row.id}))
    return row, created


def prefill_holidays(ctx: Ctx, site_id: int, year: int | None = None) -> dict[str, int]:
    """Add the year's national holidays and cuti bersama (closed all day) that the site lacks.

    A date the site already has (typed by an admin, edited, or pre-filled before) is kept as it
    is, so a cuti bersama the MPP serves on stays as the admin set it. Run again once the
    government publishes next year's decree: new dates are added.
    """
    site = _site_for_write(ctx, site_id)
    return _prefill(ctx, site, local_day(site, ctx.now).year + 1 if year is None else year)


def _prefill(ctx: Ctx, site: Site, year: int) -> dict[str, int]:
    try:
        wanted = national_holidays.for_year(year)
    except ValueError:
        raise InvalidValue("year", "tahun harus antara 1990 dan 2100",
                           "the year must be within 1990-2100") from None
    have = set(ctx.session.scalars(sa.select(SpecialDay.day).where(
        SpecialDay.site_id == site.id, SpecialDay.day.in_([h.day for h in wanted]))))
    added = [h for h in wanted if h.day not in have]
    for h in added:
        ctx.session.add(SpecialDay(site_id=site.id, day=h.day, ranges=[], note=h.name[:200],
                                   kind=h.kind))
    ctx.session.flush()
    result = {"year": year, "added": len(added), "kept": len(wanted) - len(added)}
    if added:
        audit(ctx, "prefill", "special_day", None, {"site_id": site.id, **result})
        ctx.emit(Event(ev.CONFIG_CHANGED, site.id, {"entity": "special_day", "id": None}))
    return result


def prefill_new_site(ctx: Ctx, site: Site) -> None:
    """A new site starts with this year's and next year's national holidays."""
    this_year = local_day(site, ctx.now).year
    for year in (this_year, this_year + 1):
        _prefill(ctx, site, year)


def delete_special_day(ctx: Ctx, site_id: int, day: date) -> None:
    site = _site_for_write(ctx, site_id)
    row = ctx.session.scalar(sa.select(SpecialDay).where(SpecialDay.site_id == site.id,
                                                         SpecialDay.day == day))
    if row is None:
        raise NotFound("Hari khusus", "Special day")
    audit(ctx, "delete", "special_day", row.id, {"day": day.isoformat()})
    ctx.session.delete(row)
    ctx.session.flush()
    ctx.emit(Event(ev.CONFIG_CHANGED, site.id, {"entity": "special_day", "id": row.id}))
