"""Structured logs: one JSON object per line in production, with the request id of each request.

The request id comes from the client's `X-Request-ID` header when it is sane (so a proxy's id
follows the request through), otherwise a fresh one; it is echoed in the response header and
attached to every log record written while the request runs.
"""

from __future__ import annotations

import contextvars
import json
import logging
import logging.config
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
# Probes and scrapes every few seconds would drown the access log.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# Client-supplied ids end up in logs: accept only short, plain tokens (no log injection).
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "mpp_request_id", default=None)

# Attributes every LogRecord has; anything else was passed with `extra=` and is worth keeping.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message", "asctime", "request_id", "color_message"}


class RequestIdFilter(logging.Filter):
    """Stamp each record with the id of the request being served (or None)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id_var.get()
        return True


# Credentials that travel in query strings (websockets cannot send headers from a browser):
# `?token=` of display devices and staff screens, and anything named like a secret.
_SECRET_PARAM = re.compile(r"((?:^|[?&;\s])(?:token|access_token|password|secret|code_verifier)=)"
                           r"[^&\s\"']+", re.IGNORECASE)


def redact(text: str) -> str:
    return _SECRET_PARAM.sub(r"\1***", text)


class RedactSecretsFilter(logging.Filter):
    """Blank out credentials in every record (uvicorn logs each websocket's path and query)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in args)
        if isinstance(record.msg, str) and "=" in record.msg:
            record.msg = redact(record.msg)
        return True


access_log = logging.getLogger("mpp.access")
# On the logger itself, so the id is stamped while the request's context is still current.
access_log.addFilter(RequestIdFilter())


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None)
        if rid:
            out["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value if isinstance(value, (str, int, float, bool, type(None))) \
                    else str(value)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def logging_config(*, json_logs: bool, level: str = "INFO") -> dict[str, Any]:
    """A dictConfig for the app and uvicorn's loggers (uvicorn's own access log is replaced)."""
    formatter = {"()": JsonFormatter} if json_logs else {"format": TEXT_FORMAT}
    handler = {"class": "logging.StreamHandler", "formatter": "default",
               "filters": ["request_id", "redact"], "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter},
                    "redact": {"()": RedactSecretsFilter}},
        "formatters": {"default": formatter},
        "handlers": {"default": handler},
        "loggers": {
            "": {"handlers": ["default"], "level": level.upper()},
            "uvicorn": {"handlers": ["default"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            # Our middleware logs each request with its id and duration instead.
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


def use_json(settings: Any) -> bool:
    return bool(settings.log_json or settings.env == "production")


def configure_logging(settings: Any) -> dict[str, Any]:
    """Apply the logging configuration of these settings; returns it (for uvicorn's log_config)."""
    config = logging_config(json_logs=use_json(settings), level=settings.log_level)
    logging.config.dictConfig(config)
    return config


def new_request_id() -> str:
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Pure ASGI middleware (so it also covers websockets): read/set X-Request-ID, log access."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        rid = None
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if _SAFE_ID.match(candidate):
                    rid = candidate
                break
        rid = rid or new_request_id()
        token = request_id_var.set(rid)
        scope.setdefault("state", {})["request_id"] = rid
        start = time.perf_counter()
        status = {"code": 0}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if scope["type"] == "http" and scope.get("path") not in QUIET_PATHS:
                access_log.info(
                    "%s %s %s", scope.get("method"), scope.get("path"), status["code"] or 500,
                    extra={"method": scope.get("method"), "path": scope.get("path"),
                           "status": status["code"] or 500,
                           "duration_ms": round((time.perf_counter() - start) * 1000, 1)},
                )
            request_id_var.reset(token)


def production_warnings(settings: Any) -> list[str]:
    """What a production deployment should still fix (logged once per worker at start)."""
    if settings.env != "production":
        return []
    out = []
    if not settings.secure_cookies:
        out.append("MPP_SECURE_COOKIES is off: session cookies travel without HTTPS")
    if not settings.allowed_hosts or "*" in settings.allowed_hosts:
        out.append('MPP_ALLOWED_HOSTS is ["*"]: any Host header is accepted')
    if settings.is_sqlite:
        out.append("SQLite in production: one worker only; use PostgreSQL for several")
    return out
