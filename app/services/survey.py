"""SKM survey (PermenPANRB 14/2017): one anonymous response per finished ticket, IKM reports."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.models import Agency, Counter, Service, Setting, SurveyResponse, Ticket, TicketEvent
from app.domain import events as ev
from app.domain.errors import DomainError, InvalidValue
from app.domain.events import Event
from app.domain.ikm import DEFAULT_WEIGHTS, N_UNSUR, UNSUR, validate_weights
from app.domain.reporting import ikm_from_sums, sample_status
from app.services.context import Ctx
from app.services.policy import ensure_can_submit_survey, require_role
from app.services.sitetime import local_day
from app.services.stats import Scope

WEIGHTS_KEY = "ikm_weights"
COMMENT_MAX = 1000
# The counter tablet offers the survey for a ticket finished at most this long ago.
TABLET_WINDOW = timedelta(minutes=15)
_U = [getattr(SurveyResponse, f"u{i}") for i in range(1, N_UNSUR + 1)]


# --- weights --------------------------------------------------------------------------------


def get_weights(session: Session) -> list[Fraction]:
    """The configured IKM weights (exact fractions); 1/9 each unless an admin changed them."""
    row = session.get(Setting, WEIGHTS_KEY)
    if row is None or not isinstance(row.value, dict) or "weights" not in row.value:
        return list(DEFAULT_WEIGHTS)
    return validate_weights([Fraction(str(w)) for w in row.value["weights"]])


def weights_out(weights: list[Fraction]) -> dict[str, Any]:
    return {"weights": [str(w) for w in weights], "weights_float": [float(w) for w in weights],
            "is_default": weights == list(DEFAULT_WEIGHTS)}


def read_weights(ctx: Ctx) -> list[Fraction]:
    require_role(ctx.actor, "admin", "manager")
    return get_weights(ctx.session)


def set_weights(ctx: Ctx, raw: list[Any] | None) -> list[Fraction]:
    """Store nine weights adding up to 1 ("1/9", 0.2, ...); None restores the default 1/9."""
    require_role(ctx.actor, "admin")
    from app.services.config import audit

    if raw is None:
        weights = list(DEFAULT_WEIGHTS)
    else:
        parsed: list[Any] = []
        for w in raw:
            if isinstance(w, str) and "/" in w:
                try:
                    parsed.append(Fraction(w.strip()))
                except (ValueError, ZeroDivisionError):
                    raise InvalidValue("weights", f"bobot '{w}' bukan angka",
                                       f"weight '{w}' is not a number") from None
            else:
                parsed.append(w)
        weights = validate_weights(parsed)
    value = {"weights": [str(w) for w in weights]}
    row = ctx.session.get(Setting, WEIGHTS_KEY)
    if row is None:
        ctx.session.add(Setting(key=WEIGHTS_KEY, value=value))
    else:
        row.value = value
    ctx.session.flush()
    audit(ctx, "update", "setting", None, {"key": WEIGHTS_KEY, **value})
    return weights


# --- responses ------------------------------------------------------------------------------


def _check_answers(answers: list[int]) -> None:
    if len(answers) != N_UNSUR or any(
        isinstance(a, bool) or not isinstance(a, int) or not 1 <= a <= 4 for a in answers
    ):
        raise InvalidValue("answers", f"harus {N_UNSUR} nilai 1-4",
                           f"{N_UNSUR} scores of 1-4 are required")


def submit_answer(ctx: Ctx, *, tracking_code: str | None, ticket_id: int | None,
                  answers: list[int], comment: str | None) -> Any:
    """POST /surveys: who asks decides the way. The survey tablet names the ticket it offers;
    anyone else (anonymous: the citizen) gives the printed code. Staff are refused first."""
    actor = ctx.actor
    at_tablet = actor is not None and actor.kind == "device" and actor.role == "tablet"
    ensure_can_submit_survey(actor, at_tablet=at_tablet)
    if at_tablet:
        if tracking_code is not None:
            raise DomainError("forbidden")  # the tablet never holds a citizen's code
        if ticket_id is None:
            raise InvalidValue("ticket_id", "ticket_id wajib diisi", "ticket_id is required")
        return submit_at_tablet(ctx, ticket_id=ticket_id, answers=answers, comment=comment)
    if ticket_id is not None:
        raise DomainError("not_authenticated")  # only a survey tablet answers by ticket id
    if tracking_code is None:
        raise InvalidValue("tracking_code", "kode tiket wajib diisi",
                           "the ticket's code is required")
    return submit(ctx, tracking_code=tracking_code, answers=answers, comment=comment)


def submit(ctx: Ctx, *, tracking_code: str, answers: list[int], comment: str | None) -> Any:
    """The citizen's own answer with the code printed on the ticket (or its QR): no personal
    data is asked or kept. Staff sessions are refused (they must not rate their own service)."""
    from app.services.tickets import find_by_tracking

    ensure_can_submit_survey(ctx.actor, at_tablet=False)
    _check_answers(answers)
    ticket = find_by_tracking(ctx.session, tracking_code)
    return _store(ctx, ticket, answers, comment, source="online")


def submit_at_tablet(ctx: Ctx, *, ticket_id: int, answers: list[int], comment: str | None
                     ) -> Any:
    """The survey tablet at a counter (a device bound to that counter) answers for the ticket
    it is offering now: only the one just finished there, before the next citizen is called."""
    actor = ensure_can_submit_survey(ctx.actor, at_tablet=True)
    assert actor is not None and actor.counter_id is not None
    _check_answers(answers)
    pending = _pending_ticket(ctx, ctx.session.get(Counter, actor.counter_id))
    if pending is None or pending.id != ticket_id:
        raise DomainError("survey_not_pending")
    return _store(ctx, pending, answers, comment, source="tablet")


def _store(ctx: Ctx, ticket: Ticket, answers: list[int], comment: str | None, *, source: str
           ) -> Any:
    comment = (comment or "").strip()[:COMMENT_MAX] or None
    session = ctx.session
    if ticket.status != "done":
        raise DomainError("survey_not_allowed")
    if session.scalar(sa.select(SurveyResponse.id).where(SurveyResponse.ticket_id == ticket.id)):
        raise DomainError("survey_already_submitted")
    response = SurveyResponse(
        ticket_id=ticket.id, site_id=ticket.site_id, agency_id=ticket.agency_id,
        service_id=ticket.service_id, counter_id=ticket.counter_id, source=source,
        # The service day, so a late answer still counts for the period the service was in.
        day=ticket.day, comment=comment, submitted_at=ctx.now,
        **{f"u{i + 1}": a for i, a in enumerate(answers)},
    )
    try:
        with session.begin_nested():
            session.add(response)
            session.flush()
    except IntegrityError:
        # A twin submission won the race; the unique ticket_id is the backstop.
        raise DomainError("survey_already_submitted") from None
    ctx.emit(Event(ev.SURVEY_SUBMITTED, ticket.site_id, {
        "agency_id": ticket.agency_id, "service_id": ticket.service_id,
        "counter_id": ticket.counter_id, "at": ctx.now.isoformat()}))
    return response


PAPER_SOURCES = ("paper", "field")  # kuesioner kertas; petugas lapangan (field survey)
MAX_PAPER = 500


def enter_paper(ctx: Ctx, *, service_id: int, day: date, source: str,
                responses: list[tuple[list[int], str | None]]) -> int:
    """A manager enters paper questionnaires in bulk, so the IKM covers every channel.

    The rows carry no ticket (and no personal data), are marked by `source`, and count for
    the service and day written on the forms. Returns how many were stored.
    """
    from app.domain.errors import NotFound
    from app.services.config import audit
    from app.services.policy import agency_ids_in_scope

    actor = require_role(ctx.actor, "admin", "manager")
    session = ctx.session
    service = session.get(Service, service_id)
    scope = agency_ids_in_scope(session, actor)
    if service is None or (scope is not None and service.agency_id not in scope):
        raise NotFound("Layanan", "Service")
    if source not in PAPER_SOURCES:
        raise InvalidValue("source", "sumber harus paper atau field",
                           "source must be paper or field")
    if day > local_day(service.agency.site, ctx.now):
        raise InvalidValue("day", "tanggal tidak boleh di masa depan",
                           "the date cannot be in the future")
    if not 1 <= len(responses) <= MAX_PAPER:
        raise InvalidValue("responses", f"isi 1 sampai {MAX_PAPER} kuesioner",
                           f"enter 1 to {MAX_PAPER} questionnaires")
    for n, (answers, _) in enumerate(responses, start=1):
        if len(answers) != N_UNSUR or any(
            isinstance(a, bool) or not isinstance(a, int) or not 1 <= a <= 4 for a in answers
        ):
            raise InvalidValue("responses", f"kuesioner ke-{n}: harus {N_UNSUR} nilai 1-4",
                               f"questionnaire {n}: {N_UNSUR} scores of 1-4 are required")
    for answers, comment in responses:
        session.add(SurveyResponse(
            ticket_id=None, site_id=service.site_id, agency_id=service.agency_id,
            service_id=service.id, counter_id=None, day=day, source=source,
            comment=(comment or "").strip()[:COMMENT_MAX] or None, submitted_at=ctx.now,
            **{f"u{i + 1}": a for i, a in enumerate(answers)}))
    session.flush()
    audit(ctx, "survey_paper", "service", service.id,
          {"day": day.isoformat(), "source": source, "count": len(responses)})
    ctx.emit(Event(ev.SURVEY_SUBMITTED, service.site_id, {
        "agency_id": service.agency_id, "service_id": service.id, "counter_id": None,
        "at": ctx.now.isoformat()}))
    return len(responses)


def pending_for_counter(ctx: Ctx, counter_id: int) -> tuple[Counter, Ticket | None]:
    """Staff of the counter's agency: the counter and the ticket just finished there that
    still awaits its survey (the answer never carries the ticket's tracking code)."""
    from app.domain.errors import NotFound
    from app.services.policy import agency_ids_in_scope

    actor = require_role(ctx.actor, "admin", "manager", "officer")
    counter = ctx.session.get(Counter, counter_id)
    if counter is None:
        raise NotFound("Loket", "Counter")
    scope = agency_ids_in_scope(ctx.session, actor)
    if actor.role == "officer" and actor.agency_id != counter.agency_id:
        raise DomainError("forbidden")
    if scope is not None and counter.agency_id not in scope:
        raise DomainError("forbidden")
    return counter, _pending_ticket(ctx, counter)


def pending_at_tablet(ctx: Ctx) -> tuple[Counter, Ticket | None]:
    """The survey tablet (a device bound to one counter): its counter and the ticket it
    offers now, until the next citizen is called there."""
    from app.domain.errors import NotFound

    actor = ensure_can_submit_survey(ctx.actor, at_tablet=True)
    assert actor is not None
    counter = ctx.session.get(Counter, actor.counter_id)
    if counter is None:
        raise NotFound("Loket", "Counter")
    return counter, _pending_ticket(ctx, counter)


def _pending_ticket(ctx: Ctx, counter: Counter | None) -> Ticket | None:
    if counter is None:
        return None
    session = ctx.session
    e = TicketEvent.__table__.c
    # Today's last call or finish at this counter (the (counter_id, day) index): constant cost.
    # Once the next citizen is called here, the previous citizen's survey is no longer offered
    # (their answers must not be credited to someone else's ticket).
    last = session.execute(
        sa.select(e.ticket_id, e.type, (e.at >= ctx.now - TABLET_WINDOW).label("recent")).where(
            e.counter_id == counter.id, e.day == local_day(counter.agency.site, ctx.now),
            e.type.in_(("finished", "called", "recalled")))
        .order_by(e.id.desc()).limit(1)).first()
    if last is None or last.type != "finished" or not last.recent:
        return None
    ticket = session.get(Ticket, last.ticket_id)
    if ticket is None or ticket.status != "done":
        return None
    if session.scalar(sa.select(SurveyResponse.id).where(SurveyResponse.ticket_id == ticket.id)):
        return None
    return ticket


# --- IKM report -----------------------------------------------------------------------------


def _survey_where(scope: Scope) -> list[Any]:
    s = SurveyResponse.__table__.c
    conds: list[Any] = [s.site_id.in_(scope.site_ids), s.day >= scope.start, s.day <= scope.end]
    if scope.agency_ids is not None:
        conds.append(s.agency_id.in_(sorted(scope.agency_ids)))
    if scope.service_id is not None:
        conds.append(s.service_id == scope.service_id)
    if scope.counter_id is not None:
        conds.append(s.counter_id == scope.counter_id)
    return conds


def _population(session: Session, scope: Scope) -> dict[int, int]:
    """Service users in the period per service: tickets finished ('done'), from ticket_event."""
    e = TicketEvent.__table__.c
    conds = [*Scope(scope.start, scope.end, scope.site_ids, scope.agency_ids,
                    scope.service_id, scope.counter_id).where(), e.type == "finished"]
    return {int(k): int(v) for k, v in session.execute(
        sa.select(e.service_id, sa.func.count()).where(*conds).group_by(e.service_id))}


def _result(sums: list[int], n: int, weights: list[Fraction], population: int
            ) -> dict[str, Any]:
    r = ikm_from_sums(sums, n, weights)
    return {
        "respondents": r.respondents,
        "nrr": r.nrr_rounded if n else [None] * N_UNSUR,
        "nrr_weighted": [round(v * float(w), 4) for v, w in zip(r.nrr, weights, strict=True)]
        if n else [None] * N_UNSUR,
        "ikm_nrr": r.ikm_nrr_rounded if n else None,
        "ikm": r.ikm if n else None,
        "mutu": r.mutu, "kinerja": r.kinerja,
        "sample": sample_status(n, population),
    }


def ikm_report(ctx: Ctx, scope: Scope, *, comments_limit: int = 200) -> dict[str, Any]:
    """NRR per unsur, IKM (weights), IKM x 25, mutu and kinerja, sample size, per service."""
    session = ctx.session
    weights = get_weights(session)
    conds = _survey_where(scope)
    s = SurveyResponse.__table__.c
    # One scan: per service the count, the score sums and how many chose 1, 2, 3, 4 per unsur;
    # the unit's totals are their sums.
    dist_cols = [sa.func.count().filter(u == score) for u in _U for score in (1, 2, 3, 4)]
    per_service_rows = session.execute(
        sa.select(s.service_id, sa.func.count(), *[sa.func.sum(u) for u in _U], *dist_cols)
        .where(*conds).group_by(s.service_id)).all()
    n = sum(int(r[1]) for r in per_service_rows)
    sums = [sum(int(r[2 + i] or 0) for r in per_service_rows) for i in range(N_UNSUR)]
    base = 2 + N_UNSUR
    distribution = [[sum(int(r[base + i * 4 + j] or 0) for r in per_service_rows)
                     for j in range(4)] for i in range(N_UNSUR)]
    population_by_service = _population(session, scope)
    services = {sv.id: sv for sv in session.scalars(sa.select(Service).where(
        Service.id.in_(set(population_by_service) | {r[0] for r in per_service_rows})))}
    per_service = []
    seen = set()
    for row in per_service_rows:
        sid = row[0]
        seen.add(sid)
        sv = services.get(sid)
        per_service.append({
            "service_id": sid, "name": sv.name if sv else str(sid),
            "agency": sv.agency.name if sv else "-", "prefix": sv.prefix if sv else "",
            **_result([int(v) for v in row[2:base]], int(row[1]), weights,
                      int(population_by_service.get(sid, 0)))})
    for sid, pop in population_by_service.items():
        if sid not in seen and sid in services:
            sv = services[sid]
            per_service.append({"service_id": sid, "name": sv.name, "agency": sv.agency.name,
                                "prefix": sv.prefix,
                                **_result([0] * N_UNSUR, 0, weights, int(pop))})
    per_service.sort(key=lambda r: (r["agency"], r["prefix"]))
    by_source = {src: int(c) for src, c in session.execute(
        sa.select(s.source, sa.func.count()).where(*conds).group_by(s.source))}
    comment_rows = session.execute(
        sa.select(s.day, s.service_id, s.comment)
        .where(*conds, s.comment.is_not(None), s.comment != "")
        .order_by(s.day.desc(), s.id.desc()).limit(comments_limit)).all()
    names = {sv.id: sv.name for sv in services.values()}
    agency_names = []
    if scope.agency_ids is not None and len(scope.agency_ids) <= 3:
        agency_names = list(session.scalars(sa.select(Agency.name)
                                            .where(Agency.id.in_(sorted(scope.agency_ids)))))
    return {
        **scope.as_params(),
        "agency_names": agency_names,
        "service_name": names.get(scope.service_id) if scope.service_id else None,
        "unsur": [{"code": u.code, "name": u.name_id, "name_en": u.name_en,
                   "labels": list(u.labels_id), "labels_en": list(u.labels_en),
                   "question": u.question_id, "question_en": u.question_en} for u in UNSUR],
        "weights": [str(w) for w in weights],
        "weights_default": weights == list(DEFAULT_WEIGHTS),
        **_result(sums, n, weights, sum(population_by_service.values())),
        "distribution": distribution,
        "by_source": by_source,  # respondents per channel: online, tablet, paper, field
        "per_service": per_service,
        "comments": [{"day": d.isoformat(), "service": names.get(sid, ""), "comment": c}
                     for d, sid, c in comment_rows],
    }
