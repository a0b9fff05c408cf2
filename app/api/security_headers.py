"""Security headers on every HTTP response, built with the `secure` package.

The pages load scripts, styles, images, audio and websockets from this server only: no inline
script (page data travels in `<script type="application/json">` blocks, which never run), no
inline style attribute, no framing by any site (a staff page in a hostile frame could be
clicked through). HSTS only over HTTPS (behind a proxy that says so in X-Forwarded-Proto,
which uvicorn trusts with --proxy-headers), since announcing it on plain HTTP means nothing.

/docs and /redoc are the exception: Swagger UI starts from an inline script and ReDoc injects
its styles, so there scripts and styles may be inline, still from this server only.
"""

from __future__ import annotations

from typing import Any

import secure

DOC_PATHS = ("/docs", "/redoc")


def _policy(*, docs: bool) -> secure.ContentSecurityPolicy:
    csp = (
        secure.ContentSecurityPolicy()
        .default_src("'self'")
        .img_src("'self'", "data:")
        .media_src("'self'")
        .font_src("'self'")
        .connect_src("'self'")
        .object_src("'none'")
        .base_uri("'self'")
        .form_action("'self'")
        .frame_ancestors("'none'")
    )
    if docs:
        return csp.script_src("'self'", "'unsafe-inline'").style_src(
            "'self'", "'unsafe-inline'").worker_src("'self'", "blob:")
    return csp.script_src("'self'").style_src("'self'")


def _headers(*, docs: bool, https: bool) -> list[tuple[bytes, bytes]]:
    policy = secure.Secure(
        csp=_policy(docs=docs),
        xfo=secure.XFrameOptions().deny(),
        xcto=secure.XContentTypeOptions().nosniff(),
        referrer=secure.ReferrerPolicy().same_origin(),
        coop=secure.CrossOriginOpenerPolicy().same_origin(),
        permissions=secure.PermissionsPolicy().geolocation().camera().microphone(),
        hsts=secure.StrictTransportSecurity().max_age(31536000) if https else None,
    )
    return [(k.lower().encode("ascii"), v.encode("latin-1")) for k, v in policy.header_items()]


class SecurityHeaders:
    """Pure ASGI: adds the headers to `http.response.start`; websockets pass untouched."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._sets = {(docs, https): _headers(docs=docs, https=https)
                      for docs in (False, True) for https in (False, True)}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        docs = path in DOC_PATHS or path.startswith("/docs/")
        extra = self._sets[(docs, scope.get("scheme") == "https")]

        async def with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                # A route's own value wins: a page may be stricter (the tracking page sends
                # no referrer at all, so its code never leaves in a Referer header).
                own = {k.lower() for k, _ in headers}
                message = {**message, "headers": headers + [
                    (k, v) for k, v in extra if k not in own]}
            await send(message)

        await self.app(scope, receive, with_headers)
