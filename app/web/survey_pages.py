"""The SKM survey for citizens: /survey/{tracking_code} (phone, from the tracking page) and the
counter's survey tablet /survey, which offers the survey for the ticket just finished there.

The public page is a plain HTML form (works without JavaScript); it asks for no personal data
and refuses a browser signed in as staff. The tablet is a device bound to one counter (a
manager issues it under Admin -> Devices; its setup link /survey?token=... signs it in); its
answers are marked source "tablet". A staff session cannot submit surveys (issue 16 item 5).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.api.deps import SESSION_COOKIE, AnonCtxDep
from app.domain.errors import DomainError, NotFound
from app.domain.ikm import N_UNSUR, UNSUR
from app.services import principal, survey, tickets
from app.services.context import Ctx
from app.state import state_of
from app.web.lookup_limit import record_miss, refused_page
from app.web.templating import page_lang, render

router = APIRouter(include_in_schema=False)
Score = Annotated[int | None, Form(ge=1, le=4)]


def _state(ctx: Ctx, code: str) -> dict[str, object]:
    ticket = tickets.find_by_tracking(ctx.session, code)
    return {"ticket": ticket, "service": ticket.service, "agency": ticket.service.agency,
            "submitted": tickets.has_survey(ctx.session, ticket.id),
            "done": ticket.status == "done"}


def _lookup(request: Request, ctx: Ctx, code: str) -> dict[str, object] | None:
    """The ticket's survey state, or None (counted against the address's guessing limit)."""
    try:
        if len(code) > 64:
            raise NotFound("Tiket", "Ticket")
        return _state(ctx, code)
    except DomainError as exc:
        if exc.code != "not_found":
            raise
        record_miss(request, "survey")
        return None


def _missing(request: Request) -> Response:
    return render(request, "survey.html", status_code=404, missing=True, unsur=UNSUR)


@router.get("/survey/{tracking_code}")
def survey_page(request: Request, tracking_code: str, ctx: AnonCtxDep) -> Response:
    refused = refused_page(request, "survey")
    if refused is not None:
        return refused
    state = _lookup(request, ctx, tracking_code)
    if state is None:
        return _missing(request)
    return render(request, "survey.html", missing=False, code=tracking_code, unsur=UNSUR,
                  error=None, answers={}, thanks=request.query_params.get("ok") == "1",
                  **state)


@router.post("/survey/{tracking_code}")
def survey_submit(
    request: Request, tracking_code: str, ctx: AnonCtxDep,
    u1: Score = None, u2: Score = None, u3: Score = None, u4: Score = None, u5: Score = None,
    u6: Score = None, u7: Score = None, u8: Score = None, u9: Score = None,
    comment: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    answers = [u1, u2, u3, u4, u5, u6, u7, u8, u9]
    refused = refused_page(request, "survey")
    if refused is not None:
        return refused
    state = _lookup(request, ctx, tracking_code)
    if state is None:
        return _missing(request)
    error = None
    status = 422
    if _staff_signed_in(request, ctx):
        error = DomainError("survey_staff_session")
        status = error.status
    elif any(a is None for a in answers):
        error = DomainError("invalid_value", field="jawaban",
                            reason_id=f"semua {N_UNSUR} pertanyaan harus dijawab",
                            reason_en=f"all {N_UNSUR} questions must be answered")
    else:
        try:
            survey.submit(ctx, tracking_code=tracking_code,
                          answers=[int(a) for a in answers if a is not None], comment=comment)
        except DomainError as exc:
            error, status = exc, exc.status
    if error is None:
        return RedirectResponse(f"/survey/{tracking_code}?ok=1", status_code=303)
    return render(request, "survey.html", status_code=status, missing=False, code=tracking_code,
                  unsur=UNSUR, error=error.message(page_lang(request)), thanks=False,
                  answers={f"u{i + 1}": a for i, a in enumerate(answers)}, comment=comment,
                  **state)


def _staff_signed_in(request: Request, ctx: Ctx) -> bool:
    """A browser with a live staff session: its answers would be a staff member's, refused."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return False
    state = state_of(request.app)
    found = principal.resolve(ctx.session, tokens=state.token_signer,
                              sessions=state.session_signer, cookie=cookie)
    return found.principal is not None


@router.get("/survey")
def survey_tablet(request: Request) -> Response:
    """The survey tablet at a counter: a device token (kept in localStorage from the setup
    link) names the counter; the page asks the API for that counter's pending ticket."""
    return render(request, "survey_tablet.html", unsur=UNSUR)
