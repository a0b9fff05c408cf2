"""Kiosk, citizens and counter officers: catalog, tickets, tracking, counter operations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, StringConstraints

from app.api import ratelimit
from app.api.deps import AnonCtxDep, CtxDep, run_unit_of_work, staff_credential
from app.api.schemas import (
    CallTicketIn,
    ContactAdd,
    HoldIn,
    Id,
    OpenCounterIn,
    StepAdd,
    StepOrder,
    StepRead,
    TicketCreate,
    TicketRead,
    TokenOut,
    TransferIn,
)
from app.db.models import Ticket
from app.db.session import unit_of_work
from app.domain import waiting
from app.services import (
    auth,
    catalog,
    counter_calls,
    joining,
    kiosk_issue,
    notify,
    otp,
    policy,
    tickets,
    visits,
)
from app.services.context import Ctx
from app.services.policy import may_see_tracking_code
from app.services.unit_of_work import published
from app.state import state_of

router = APIRouter(prefix="/api/v1")
IdemKey = Annotated[str, StringConstraints(min_length=1, max_length=128)]


@router.post("/auth/token", response_model=TokenOut, tags=["auth"])
def login(
    request: Request,
    ctx: AnonCtxDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
) -> object:
    settings = state_of(request.app).settings
    user = auth.authenticate(ctx, username, password, max_failures=settings.login_max_failures,
                             lock_seconds=settings.login_lock_seconds,
                             address_max_failures=settings.login_address_max_failures)
    signer = state_of(request.app).token_signer
    return TokenOut(access_token=signer.issue(user), expires_in=signer.max_age)


@router.post("/auth/logout", status_code=204, tags=["auth"])
def logout(ctx: CtxDep) -> Response:
    """End every token and browser session of the signed-in user."""
    auth.sign_out(ctx, ctx.actor, required=True)
    return Response(status_code=204)


# --- kiosk and citizens ---------------------------------------------------------------------


@router.get("/catalog", tags=["kiosk"])
def get_catalog(ctx: CtxDep, site_id: Id | None = None,
                site_code: Annotated[str | None, Query(max_length=32)] = None) -> dict[str, Any]:
    site = catalog.resolve_site(ctx.session, site_id, site_code)
    entries = catalog.catalog(ctx.session, site, ctx.now)
    return {
        "site": {"id": site.id, "code": site.code, "name": site.name, "timezone": site.timezone},
        "agencies": [
            {
                "id": e.agency.id, "code": e.agency.code, "name": e.agency.name,
                "floor": e.agency.floor, "zone": e.agency.zone, "color": e.agency.color,
                "services": [catalog.public_service(s) for s in e.services],
            }
            for e in entries
        ],
        "packages": _catalog_packages(ctx, site.id, entries),
    }


def _catalog_packages(ctx: Ctx, site_id: int, entries: list[Any]) -> list[dict[str, Any]]:
    """The site's service packages whose every service the kiosk lists (an inactive service
    takes its packages off the kiosk; a closed or full one is named when the visit is asked)."""
    from app.services import packages

    listed = {s.service.id for e in entries for s in e.services}
    out = []
    for pkg in packages.list_packages(ctx.session, site_id):
        if pkg.service_ids and all(i in listed for i in pkg.service_ids):
            out.append({"id": pkg.id, "code": pkg.code, "name": pkg.name,
                        "description": pkg.description, "service_ids": list(pkg.service_ids)})
    return out


def ticket_out(ctx: Ctx, ticket: Ticket | tickets.TicketRow, ahead: int | None = None,
               estimate: int | None = None) -> TicketRead:
    if ahead is None:
        ahead = tickets.people_ahead(ctx.session, ticket)
    if estimate is None:
        estimate = tickets.estimate_for(ctx.session, ticket.service, ahead, ticket.day)
    out = ticket_read(ticket, ahead, estimate, with_code=may_see_tracking_code(ctx.actor))
    out.steps = [StepRead(**{k: v for k, v in st.items() if k in StepRead.model_fields})
                 for st in visits.steps_view(ctx.session, ticket)]
    return out


def ticket_read(ticket: Ticket | tickets.TicketRow, ahead: int, estimate: int, *,
                with_code: bool) -> TicketRead:
    """`with_code`: the tracking code goes only to the ticket's issuer (policy), never staff."""
    return TicketRead(
        id=ticket.id, number=ticket.number, service_id=ticket.service_id,
        agency_id=ticket.agency_id, status=ticket.status, priority=ticket.priority,
        channel=ticket.channel, issued_at=ticket.issued_at, called_at=ticket.called_at,
        counter_id=ticket.counter_id, people_ahead=ahead, estimated_wait_minutes=estimate,
        estimated_wait_range=waiting.wait_range(estimate),
        tracking_code=ticket.tracking_code if with_code else None,
        transferred_from_id=ticket.transferred_from_id,
    )


@router.post("/tickets", response_model=TicketRead, status_code=201, tags=["kiosk"],
             responses={200: {"description": "A retry with the same Idempotency-Key"}})
async def issue_ticket(
    request: Request,
    body: TicketCreate,
    idempotency_key: Annotated[IdemKey | None, Header()] = None,
) -> object:
    state = state_of(request.app)
    token = _device_token(request)
    if body.contact is not None:
        return await _issue_with_contact(request, body, idempotency_key)
    visit = bool(body.next_service_ids or body.package_id)
    if token is not None and not visit and getattr(state, "kiosk_store", None) is not None:
        # A kiosk on PostgreSQL: the common case on an asyncio connection (see there).
        fast = await kiosk_issue.issue(
            state.kiosk_store, token=token, service_id=body.service_id, priority=body.priority,
            idempotency_key=idempotency_key, now=state.clock(),
            channel=state.bus.pipelined_channel())
        state.metrics.issue_path.labels("asyncio" if fast else "reference").inc()
        if fast is not None:
            published(state.bus, [fast.event], state.metrics, sent_with_commit=fast.notified)
            issued = fast.issued
            # The asyncio path serves kiosks only: the kiosk prints the code and its QR.
            out = ticket_read(issued.view, issued.people_ahead, issued.estimated_wait_minutes,
                              with_code=True)
            return Response(out.model_dump_json(), status_code=201,
                            media_type="application/json")

    def work(ctx: Ctx) -> tuple[TicketRead, bool]:
        issued = joining.request_ticket(
            ctx, service_id=body.service_id, priority=body.priority,
            idempotency_key=idempotency_key, next_service_ids=body.next_service_ids or (),
            package_id=body.package_id)
        return ticket_out(ctx, issued.view, issued.people_ahead,
                          issued.estimated_wait_minutes), issued.created

    out, created = await run_unit_of_work(request, work)
    return Response(out.model_dump_json(), status_code=201 if created else 200,
                    media_type="application/json")


def public_base(request: Request) -> str:
    """How citizens' phones reach us (links in messages, QR codes)."""
    return state_of(request.app).settings.public_url or str(request.base_url)


async def _issue_with_contact(request: Request, body: TicketCreate,
                              idempotency_key: str | None) -> Response:
    """A ticket with an opt-in phone: the contact is written in the issue's transaction."""
    assert body.contact is not None
    contact = notify.check_contact(body.contact.phone, body.contact.consent, lang=body.lang,
                                   otp_id=body.contact.otp_id, otp_code=body.contact.otp_code)
    base = public_base(request)
    settings = state_of(request.app).settings
    if contact.otp_id is not None:
        with unit_of_work(state_of(request.app).session_factory) as session:
            otp.count_attempt(session, contact.otp_id)

    def work(ctx: Ctx) -> tuple[TicketRead, bool]:
        issued = joining.request_ticket(ctx, service_id=body.service_id, contact=contact,
                                        base_url=base, priority=body.priority,
                                        idempotency_key=idempotency_key,
                                        next_service_ids=body.next_service_ids or (),
                                        package_id=body.package_id,
                                        otp_secret=settings.secret_key)
        return ticket_out(ctx, issued.view, issued.people_ahead,
                          issued.estimated_wait_minutes), issued.created

    out, created = await run_unit_of_work(request, work)
    return Response(out.model_dump_json(), status_code=201 if created else 200,
                    media_type="application/json")


def _device_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.startswith(auth.DEVICE_PREFIX):
        return token
    return None


@router.get("/tickets/{ticket_id}", response_model=TicketRead, tags=["counter"])
def get_ticket(ticket_id: Id, ctx: CtxDep) -> object:
    return ticket_out(ctx, tickets.staff_ticket(ctx, ticket_id))


@router.post("/tickets/{ticket_id}/contact", tags=["counter"])
def add_contact(ticket_id: Id, body: ContactAdd, ctx: CtxDep, request: Request
                ) -> dict[str, Any]:
    """Staff add a citizen's number at the front office (with the citizen's consent, which
    the officer read out); answers it masked."""
    ticket = notify.add_to_ticket(ctx, ticket_id, phone=body.phone, consent=body.consent,
                                  lang=body.lang, base_url=public_base(request))
    return {"ticket_id": ticket.id, "phone": notify.masked_phone(ctx.session, ticket.id)}


@router.get("/tickets/{ticket_id}/contact", tags=["counter"])
def get_contact(ticket_id: Id, ctx: CtxDep) -> dict[str, Any]:
    """Staff see whether a ticket has a number, masked (never the number itself)."""
    ticket = notify.staff_ticket(ctx, ticket_id)
    return {"ticket_id": ticket.id, "phone": notify.masked_phone(ctx.session, ticket.id)}


@router.get("/track/{tracking_code}", tags=["kiosk"],
            dependencies=[Depends(ratelimit.limit_misses("track"), scope="function")])
def track(tracking_code: Annotated[str, StringConstraints(max_length=64)], ctx: CtxDep
          ) -> dict[str, Any]:
    ticket = tickets.find_by_tracking(ctx.session, tracking_code)
    out = ticket_out(ctx, ticket)
    counter = None
    if ticket.counter_id is not None and ticket.status in ("called", "serving", "held"):
        c = tickets.get_counter(ctx.session, ticket.counter_id)
        counter = {"number": c.number, "name": c.name}
    service = ticket.service
    surveyed = tickets.has_survey(ctx.session, ticket.id)
    steps = visits.steps_view(ctx.session, ticket, names=True)
    return {
        "number": ticket.number, "status": ticket.status,
        "priority": ticket.priority is not None,
        "service": {"id": service.id, "name": service.name, "complaints": service.complaints},
        "agency": {"id": service.agency.id, "name": service.agency.name,
                   "floor": service.agency.floor, "zone": service.agency.zone},
        "issued_at": ticket.issued_at.isoformat(), "day": ticket.day.isoformat(),
        "people_ahead": out.people_ahead, "estimated_wait_minutes": out.estimated_wait_minutes,
        "estimated_wait_range": list(out.estimated_wait_range), "counter": counter,
        "survey_available": ticket.status == "done" and not surveyed,
        "survey_submitted": surveyed,
        "steps": steps,
        "transferred_from": _transferred_from(ctx, ticket),
    }


def _transferred_from(ctx: Ctx, ticket: Ticket) -> dict[str, Any] | None:
    """A transferred citizen's slip shows the first number: say it changed, and to what."""
    first = tickets.first_of_transfers(ctx.session, ticket)
    if first is None or first.number == ticket.number:
        return None
    return {"number": first.number, "service": first.service.name}


# --- counter officers -----------------------------------------------------------------------


def _operable_counter(ctx: Ctx, counter_id: int, *, lock: bool = False,
                      operator: bool = True) -> Any:
    counter = tickets.get_counter(ctx.session, counter_id, lock=lock)
    actor = policy.ensure_can_operate(ctx.actor, counter.agency_id)
    if operator:
        policy.ensure_operator(ctx.session, actor, counter)
    return counter


def _operable_ticket(ctx: Ctx, ticket_id: int) -> Ticket:
    ticket = tickets.get_ticket(ctx.session, ticket_id, lock=True)
    counter = (tickets.get_counter(ctx.session, ticket.counter_id)
               if ticket.counter_id is not None else None)
    policy.ensure_ticket_operable(ctx.session, ctx.actor, ticket, counter)
    return ticket


@router.post("/counters/{counter_id}/open", tags=["counter"])
def open_counter(counter_id: Id, ctx: CtxDep, body: OpenCounterIn | None = None
                 ) -> dict[str, Any]:
    counter = _operable_counter(ctx, counter_id, lock=True, operator=False)
    previous = counter.officer_id if counter.is_open else None
    tickets.open_counter(ctx, counter, take_over=bool(body and body.take_over))
    from app.services.config import audit

    taken_from = previous if previous not in (None, counter.officer_id) else None
    audit(ctx, "counter_open", "counter", counter.id,
          {"take_over": bool(body and body.take_over), "taken_over_from": taken_from})
    return {"id": counter.id, "is_open": counter.is_open, "officer_id": counter.officer_id}


@router.post("/counters/{counter_id}/close", tags=["counter"])
def close_counter(counter_id: Id, ctx: CtxDep) -> dict[str, Any]:
    counter = _operable_counter(ctx, counter_id, lock=True)
    tickets.close_counter(ctx, counter)
    return {"id": counter.id, "is_open": counter.is_open, "officer_id": counter.officer_id}


class BreakIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                             max_length=200)]


@router.post("/counters/{counter_id}/break", tags=["counter"])
def start_break(counter_id: Id, body: BreakIn, ctx: CtxDep) -> dict[str, Any]:
    """Put the open counter on break ("istirahat") with a reason, e.g. "Salat Jumat"."""
    from app.services import counter_break

    counter = _operable_counter(ctx, counter_id, lock=True)
    counter_break.start_break(ctx, counter, body.reason)
    return {"id": counter.id, **counter_break.console_view(ctx.session, counter, ctx.now)}


@router.post("/counters/{counter_id}/break/end", tags=["counter"])
def end_break(counter_id: Id, ctx: CtxDep) -> dict[str, Any]:
    from app.services import counter_break

    counter = _operable_counter(ctx, counter_id, lock=True)
    counter_break.end_break(ctx, counter)
    return {"id": counter.id, **counter_break.console_view(ctx.session, counter, ctx.now)}


@router.post("/counters/{counter_id}/call-next", response_model=TicketRead, tags=["counter"],
             responses={204: {"description": "Nobody waits for this counter's services"}})
async def call_next(counter_id: Id, request: Request) -> object:
    fast = await _lean(request, "call_next", lambda store, cred, now, channel:
                       counter_calls.call_next(store, cred, counter_id=counter_id, now=now,
                                               channel=channel))
    if fast is not None:
        return fast

    def work(ctx: Ctx) -> object:
        counter = _operable_counter(ctx, counter_id, lock=True)
        ticket = tickets.call_next(ctx, counter)
        if ticket is None:
            return Response(status_code=204)
        # A counter left with another agency's service (configured before that was refused)
        # must not hand its officer that agency's citizen: refused, and the call rolled back.
        policy.ensure_ticket_operable(ctx.session, ctx.actor, ticket)
        return ticket_out(ctx, ticket, 0, 0)

    return await run_unit_of_work(request, work)


async def _lean(request: Request, action: str, run: Any) -> Response | None:
    """An officer's call-next or start on PostgreSQL's asyncio path (app/services/
    counter_calls.py), or None: the reference path answers."""
    state = state_of(request.app)
    store = getattr(state, "counter_store", None)
    if store is None:
        return None
    cred = staff_credential(request)
    if cred is None:
        return None
    done = await run(store, cred, state.clock(), state.bus.pipelined_channel())
    state.metrics.call_path.labels(action, "asyncio" if done else "reference").inc()
    if done is None:
        return None
    published(state.bus, done.events, state.metrics, sent_with_commit=done.notified)
    out = ticket_read(done.ticket, 0, 0, with_code=may_see_tracking_code(done.actor))
    return Response(out.model_dump_json(), media_type="application/json")


def _ticket_action(name: str) -> Any:
    async def endpoint(ticket_id: Id, request: Request) -> object:
        if name == "start":
            fast = await _lean(request, "start", lambda store, cred, now, channel:
                               counter_calls.start(store, cred, ticket_id=ticket_id, now=now,
                                                   channel=channel))
            if fast is not None:
                return fast

        def work(ctx: Ctx) -> TicketRead:
            ticket = _operable_ticket(ctx, ticket_id)
            getattr(tickets, name)(ctx, ticket)
            return ticket_out(ctx, ticket)

        return await run_unit_of_work(request, work)

    endpoint.__name__ = f"ticket_{name}"
    return endpoint


for _path, _name in (("recall", "recall"), ("start", "start"), ("finish", "finish"),
                     ("no-show", "no_show"), ("resume", "resume"), ("cancel", "cancel")):
    router.add_api_route(f"/tickets/{{ticket_id}}/{_path}", _ticket_action(_name),
                         methods=["POST"], response_model=TicketRead, tags=["counter"])


@router.post("/tickets/{ticket_id}/hold", response_model=TicketRead, tags=["counter"])
async def hold(ticket_id: Id, request: Request, body: HoldIn | None = None) -> object:
    def work(ctx: Ctx) -> TicketRead:
        ticket = _operable_ticket(ctx, ticket_id)
        tickets.hold(ctx, ticket, note=body.note if body else None)
        return ticket_out(ctx, ticket)

    return await run_unit_of_work(request, work)


@router.post("/tickets/{ticket_id}/call", response_model=TicketRead, tags=["counter"])
async def call_ticket(ticket_id: Id, body: CallTicketIn, request: Request) -> object:
    """Call a specific ticket (a held one, called back) to a counter."""

    def work(ctx: Ctx) -> TicketRead:
        ticket = _operable_ticket(ctx, ticket_id)
        counter = _operable_counter(ctx, body.counter_id, lock=True)
        tickets.call_ticket(ctx, ticket, counter)
        return ticket_out(ctx, ticket)

    return await run_unit_of_work(request, work)


@router.post("/tickets/{ticket_id}/transfer", response_model=TicketRead, status_code=201,
             tags=["counter"])
async def transfer(ticket_id: Id, body: TransferIn, request: Request) -> object:
    def work(ctx: Ctx) -> TicketRead:
        ticket = _operable_ticket(ctx, ticket_id)
        new = tickets.transfer(ctx, ticket, service_id=body.service_id, note=body.note)
        return ticket_out(ctx, new)

    return await run_unit_of_work(request, work)


# --- visits with several services ----------------------------------------------------------


def _plan_ticket(ctx: Ctx, ticket_id: int) -> Ticket:
    """The ticket whose plan an officer changes, locked (a finish racing the change waits)."""
    ticket = tickets.get_ticket(ctx.session, ticket_id, lock=True)
    if ctx.actor is not None and ctx.actor.agency_id == ticket.agency_id:
        return _operable_ticket(ctx, ticket_id)
    visits.ensure_may_change_plan(ctx, ticket)
    return ticket


@router.post("/tickets/{ticket_id}/steps", response_model=TicketRead, status_code=201,
             tags=["counter"])
async def add_step(ticket_id: Id, body: StepAdd, request: Request) -> object:
    """An officer of the current step's agency (or of the step that just ended) adds a
    service at the end of the visit."""

    def work(ctx: Ctx) -> TicketRead:
        ticket = _plan_ticket(ctx, ticket_id)
        visits.add_step(ctx, ticket, service_id=body.service_id)
        return ticket_out(ctx, ticket)

    return await run_unit_of_work(request, work)


@router.delete("/tickets/{ticket_id}/steps/{step_id}", response_model=TicketRead,
               tags=["counter"])
async def drop_step(ticket_id: Id, step_id: Id, request: Request) -> object:
    """Drop a step that has not started (its quota place is given back)."""

    def work(ctx: Ctx) -> TicketRead:
        ticket = _plan_ticket(ctx, ticket_id)
        visits.drop_step(ctx, ticket, step_id)
        return ticket_out(ctx, ticket)

    return await run_unit_of_work(request, work)


@router.put("/tickets/{ticket_id}/steps/order", response_model=TicketRead, tags=["counter"])
async def reorder_steps(ticket_id: Id, body: StepOrder, request: Request) -> object:
    """Put the steps that have not started in a new order (every one of them, each once)."""

    def work(ctx: Ctx) -> TicketRead:
        ticket = _plan_ticket(ctx, ticket_id)
        visits.reorder(ctx, ticket, body.step_ids)
        return ticket_out(ctx, ticket)

    return await run_unit_of_work(request, work)


# Routes are tried one after the other, and these three are most of a mall's requests (a kiosk
# tap, an officer's call and start): tried first, they skip a dozen path matches each. No other
# route has their paths, so the order changes no answer.
_BUSIEST = {("POST", "/api/v1/tickets"), ("POST", "/api/v1/counters/{counter_id}/call-next"),
            ("POST", "/api/v1/tickets/{ticket_id}/start")}
router.routes.sort(key=lambda r: not any((m, getattr(r, "path", "")) in _BUSIEST
                                         for m in getattr(r, "methods", None) or ()))
