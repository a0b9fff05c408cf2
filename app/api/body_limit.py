"""Refuse request bodies over `MPP_MAX_BODY_BYTES` before they are read whole.

A body that declares its size (Content-Length) is refused here before the application sees
it; one that streams without (chunked) is counted as it is received and refused once over:
the receive call raises a 413 HTTPException, which the error handlers turn into the usual
`{"error": {"code": "payload_too_large", ...}}`. Starlette's own limiter (FastAPI's
`max_body_size`) answers in plain text instead, so it is not used.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException

from app.domain.errors import ERRORS


def _message(scope: dict[str, Any]) -> str:
    _, msg_id, msg_en = ERRORS["payload_too_large"]
    for name, value in scope.get("headers", []):
        if name == b"accept-language":
            return msg_en if value.decode("latin-1").lower().startswith("en") else msg_id
    return msg_id


class BodyLimit:
    """Pure ASGI, so streaming responses and websockets pass untouched."""

    def __init__(self, app: Any, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                if value.isdigit() and int(value) > self.max_bytes:
                    await self._refuse(scope, send)
                    return
                break
        received = 0
        limit = self.max_bytes

        async def counted() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413)
            return message

        await self.app(scope, counted, send)

    @staticmethod
    async def _refuse(scope: dict[str, Any], send: Any) -> None:
        body = json.dumps({"error": {"code": "payload_too_large",
                                     "message": _message(scope)}}).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
