"""What a production server shows to anyone: the API docs, the schema and the metrics are
settings (`MPP_PUBLIC_DOCS`, `MPP_PUBLIC_METRICS`), private by default in production; and
websockets opened by a browser must come from a page of this server (`Origin`).

Private docs answer 404 (nothing to find); private metrics answer only to the addresses in
`MPP_METRICS_ALLOW` (loopback by default: a Prometheus agent beside the server, the health
check). A websocket whose `Origin` names another site is refused before it is accepted (a
hostile page could otherwise open a staff console with the officer's cookie); clients that
send no Origin (display devices, scripts) are unaffected.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

DOC_PREFIXES = ("/docs", "/redoc", "/openapi.json")


def _not_found() -> bytes:
    return json.dumps({"error": {"code": "not_found", "message": "Halaman tidak ditemukan"}}
                      ).encode()


class Exposure:
    """Pure ASGI middleware."""

    def __init__(self, app: Any, *, public_docs: bool, public_metrics: bool,
                 metrics_allow: list[str], allowed_origins: list[str]) -> None:
        self.app = app
        self.public_docs = public_docs
        self.public_metrics = public_metrics
        self.metrics_allow = set(metrics_allow)
        self.allowed_origins = {o.rstrip("/").lower() for o in allowed_origins}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket" and not self._origin_ok(scope):
            await send({"type": "websocket.close", "code": 1008, "reason": "origin"})
            return
        if scope["type"] == "http":
            path = scope.get("path", "")
            hidden = (not self.public_docs and path.startswith(DOC_PREFIXES)) or (
                not self.public_metrics and path == "/metrics"
                and (scope.get("client") or ("",))[0] not in self.metrics_allow)
            if hidden:
                body = _not_found()
                await send({"type": "http.response.start", "status": 404, "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    def _origin_ok(self, scope: dict[str, Any]) -> bool:
        headers = {k: v.decode("latin-1") for k, v in scope.get("headers", [])
                   if k in (b"origin", b"host")}
        origin = headers.get(b"origin")
        if origin is None:
            return True
        if origin.rstrip("/").lower() in self.allowed_origins:
            return True
        return urlsplit(origin).netloc.lower() == headers.get(b"host", "").lower()
