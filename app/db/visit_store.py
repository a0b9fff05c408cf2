"""The statements of visits with several services: their steps and the quota places of later
steps. Services decide (app/domain/visits.py, app/domain/issuing.py); this only stores.

Dialect specifics live here: on PostgreSQL the day rows of every step are locked in one order
(by service id) before any is bumped, so two visits naming the same services in different
orders cannot deadlock; SQLite's write transaction is exclusive already.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.db.models import Service, ServiceDay, VisitStep

_sd = ServiceDay.__table__


class VisitStore:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.postgres = session.get_bind().dialect.name == "postgresql"

    def steps(self, ticket_id: int) -> list[VisitStep]:
        return list(self.session.scalars(
            sa.select(VisitStep).where(VisitStep.ticket_id == ticket_id)
            .order_by(VisitStep.position, VisitStep.id)))

    def services(self, ids: Sequence[int]) -> dict[int, Service]:
        if not ids:
            return {}
        return {s.id: s for s in self.session.scalars(
            sa.select(Service).where(Service.id.in_(ids)))}

    def lock_days(self, service_ids: Sequence[int], day: date) -> None:
        """Lock (creating if need be) the day rows of these services, in service id order."""
        if not self.postgres:
            return
        for sid in sorted(set(service_ids)):
            stmt = postgresql.insert(_sd).values(service_id=sid, day=day, last_seq=0,
                                                 quota_used=0)
            self.session.execute(stmt.on_conflict_do_update(
                index_elements=["service_id", "day"], set_={"last_seq": _sd.c.last_seq}))

    def take_place(self, service_id: int, day: date, limit: int | None) -> bool:
        """One more quota place of the day (no number drawn), only while quota_used < limit
        (None: no limit): the same guarded bump an issue makes. False: none was left."""
        dialect = postgresql if self.postgres else sqlite
        stmt = dialect.insert(_sd).values(service_id=service_id, day=day, last_seq=0,
                                          quota_used=1)
        stmt = stmt.on_conflict_do_update(
            index_elements=["service_id", "day"], set_={"quota_used": _sd.c.quota_used + 1},
            where=None if limit is None else _sd.c.quota_used < limit)
        got = self.session.execute(stmt.returning(_sd.c.quota_used)).first()
        return got is not None and (limit is None or got[0] <= limit)

    def give_back_place(self, service_id: int, day: date) -> None:
        self.session.execute(sa.update(_sd).where(
            _sd.c.service_id == service_id, _sd.c.day == day, _sd.c.quota_used > 0)
            .values(quota_used=_sd.c.quota_used - 1))
