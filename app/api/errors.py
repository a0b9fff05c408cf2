"""One place that turns every failure into `{"error": {"code", "message"}}`."""

from __future__ import annotations

import logging
import math
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.domain.errors import ERRORS, DomainError

log = logging.getLogger(__name__)


def request_lang(request: Request) -> str:
    """Indonesian unless the client asks for English first."""
    header = request.headers.get("accept-language", "")
    for part in header.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("id"):
            return "id"
        if tag.startswith("en"):
            return "en"
    lang = request.cookies.get("mpp_lang")
    return "en" if lang == "en" else "id"


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    body.update({k: v for k, v in extra.items() if v is not None})
    return {"error": body}


def domain_error_response(request: Request, exc: DomainError) -> JSONResponse:
    extra: dict[str, Any] = {}
    if exc.params.get("next_opening"):
        extra["next_opening"] = exc.params["next_opening"]
    if exc.code == "invalid_value" and exc.params.get("field"):
        # Which field, so a screen can put the message next to it (the message names it too).
        extra["field"] = exc.params["field"]
        # The reason alone, in plain words, for the screen to show beside that field.
        reason = exc.params.get("reason_en" if request_lang(request) == "en" else "reason_id")
        if reason:
            extra["reason"] = str(reason)
    if exc.params.get("step_service_id"):
        extra["service_id"] = exc.params["step_service_id"]  # which step of a visit failed
    headers = None
    if exc.code in ("rate_limited", "account_locked") and exc.params.get("seconds"):
        headers = {"Retry-After": str(exc.params["seconds"])}
    if exc.code == "not_authenticated":
        headers = {"WWW-Authenticate": "Bearer"}
    return JSONResponse(
        error_body(exc.code, exc.message(request_lang(request)), **extra),
        status_code=exc.status,
        headers=headers,
    )


def _json_safe(value: Any) -> Any:
    """NaN and infinities (`1e400` parses as one) echoed in details as text: JSON has no such
    numbers, and encoding them would turn a 422 into a 500."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _msg(code: str, lang: str) -> str:
    _, msg_id, msg_en = ERRORS[code]
    return msg_en if lang == "en" else msg_id


async def http_error_json(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """An HTTP error (unknown route, wrong method...) as the API's error body."""
    lang = request_lang(request)
    code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
            401: "not_authenticated", 403: "forbidden"}.get(exc.status_code, "http_error")
    if code == "not_found":
        message = "Halaman tidak ditemukan" if lang == "id" else "Not found"
    else:
        message = _msg(code, lang)
    return JSONResponse(error_body(code, message), status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return domain_error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = _json_safe(jsonable_encoder(exc.errors(),
                                              custom_encoder={bytes: lambda b: repr(b)[:200]}))
        for d in details:
            # Echoing a 1 MB input back helps nobody.
            if isinstance(d.get("input"), str) and len(d["input"]) > 200:
                d["input"] = d["input"][:200] + "..."
            d.pop("ctx", None) if not isinstance(d.get("ctx"), dict) else None
        return JSONResponse(
            error_body("validation_error", _msg("validation_error", request_lang(request)),
                       details=details),
            status_code=422,
        )

    app.add_exception_handler(StarletteHTTPException, http_error_json)

    @app.exception_handler(OperationalError)
    @app.exception_handler(psycopg.OperationalError)  # the kiosk's asyncio connections
    async def _db_down(request: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", str(exc).splitlines()[0])
        return JSONResponse(
            error_body("database_unavailable", _msg("database_unavailable", request_lang(request))),
            status_code=503, headers={"Retry-After": "2"},
        )

    @app.exception_handler(DBAPIError)
    async def _dbapi(request: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated:
            return await _db_down(request, exc)  # type: ignore[arg-type]
        if isinstance(exc, DataError):
            # A value the database cannot hold (a NUL character in a form field, a number out
            # of range) that validation let through: the input's fault, and nothing was stored.
            log.warning("value refused by the database: %s", exc.orig)
            return JSONResponse(
                error_body("validation_error", _msg("validation_error", request_lang(request))),
                status_code=422,
            )
        log.exception("database error")
        return JSONResponse(
            error_body("internal_error", _msg("internal_error", request_lang(request))),
            status_code=500,
        )

    @app.exception_handler(Exception)
    async def _any(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return JSONResponse(
            error_body("internal_error", _msg("internal_error", request_lang(request))),
            status_code=500,
        )
