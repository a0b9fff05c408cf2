"""Local stand-ins for the messaging providers' HTTP APIs, on loopback, started by tests.

WhatsAppStandIn answers `POST /{phone_number_id}/messages` as the Cloud API does (checks the
bearer token, answers `{"messages": [{"id": "wamid..."}]}`), and then, when `callback_url` is
set, posts the message's statuses ("sent", then "delivered") to that webhook, signed with the
app secret (X-Hub-Signature-256), as Meta does; SmsStandIn answers a generic
gateway's request. Both record every request, can be told to fail (`fail_status`), and count
messages *delivered*: a repeat of an Idempotency-Key already answered 2xx is acknowledged
again but not delivered twice (what a provider with idempotency keys does).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any
    status: int
    at: float = field(default_factory=time.monotonic)


class _StandIn:
    token = "test-token"

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.delivered: dict[str, Any] = {}  # idempotency key -> body, once each
        self.duplicates = 0
        self.fail_status: int | None = None
        self.fail_delay = 0.0  # seconds a failing answer takes (a provider hanging, then 500)
        self.lock = threading.Lock()
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> _StandIn:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, path: str, headers: dict[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError

    def _record(self, path: str, headers: dict[str, str], body: Any) -> tuple[int, bytes]:
        if self.fail_status is not None and self.fail_delay:
            time.sleep(self.fail_delay)
        with self.lock:
            if self.fail_status is not None:
                status, doc = self.fail_status, {"error": {"message": "stand-in outage"}}
            else:
                status, doc = self.answer(path, headers, body)
                key = headers.get("idempotency-key") or str(uuid.uuid4())
                if 200 <= status < 300:
                    if key in self.delivered:
                        self.duplicates += 1
                    else:
                        self.delivered[key] = body
            self.requests.append(Received(path, headers, body, status))
        return status, json.dumps(doc).encode()

    def wait_for(self, predicate: Any, timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = [b for b in self.delivered.values() if predicate(b)]
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"no matching message within {timeout} s: {self.delivered}")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                self._handle(self.rfile.read(int(self.headers.get("content-length") or 0)))

            def do_GET(self) -> None:  # noqa: N802
                self._handle(b"")

            def _handle(self, raw: bytes) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                ctype = headers.get("content-type", "")
                if "json" in ctype:
                    body: Any = json.loads(raw or b"null")
                elif raw:
                    body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                else:
                    body = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                status, out = stand_in._record(urlsplit(self.path).path, headers, body)
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


class WhatsAppStandIn(_StandIn):
    phone_number_id = "1098765"
    app_secret = "test-app-secret"
    # Seconds between the answer and each status report (Meta's arrive within moments).
    callback_delay = 0.2

    def __init__(self) -> None:
        super().__init__()
        self.callback_url: str | None = None  # the app's /api/v1/notify/whatsapp/status
        self.callbacks: list[tuple[str, str, int]] = []  # (wamid, status, the app's answer)

    def _report(self, wamid: str, body: dict[str, Any]) -> None:
        """Post "sent" then "delivered" for one message to the app, like the Cloud API."""
        import httpx

        for status in ("sent", "delivered"):
            time.sleep(self.callback_delay)
            url = self.callback_url
            if not url:
                return
            doc = {"object": "whatsapp_business_account", "entry": [{
                "id": "102290129340398", "changes": [{"field": "messages", "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"phone_number_id": self.phone_number_id},
                    "statuses": [{
                        "id": wamid, "status": status, "timestamp": str(int(time.time())),
                        "recipient_id": body.get("to"),
                        "biz_opaque_callback_data": body.get("biz_opaque_callback_data"),
                    }]}}]}]}
            raw = json.dumps(doc).encode()
            mac = hmac.new(self.app_secret.encode(), raw, hashlib.sha256).hexdigest()
            try:
                answer = httpx.post(url, content=raw, timeout=10, headers={
                    "content-type": "application/json", "x-hub-signature-256": f"sha256={mac}"})
                code = answer.status_code
            except httpx.HTTPError:
                code = 0
            with self.lock:
                self.callbacks.append((wamid, status, code))

    def wait_for_callback(self, wamid: str, status: str, timeout: float = 15.0) -> int:
        """The app's answer to the stand-in's report of `status` for message `wamid`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = [c for w, s, c in self.callbacks if w == wamid and s == status]
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"no {status} report for {wamid}: {self.callbacks}")

    def answer(self, path: str, headers: dict[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"error": {"message": "Invalid OAuth access token", "code": 190}}
        if path.rstrip("/").split("/")[-2:] != [self.phone_number_id, "messages"]:
            return 404, {"error": {"message": "Unknown path"}}
        if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp" \
                or not body.get("to") or body.get("type") not in ("text", "template"):
            return 400, {"error": {"message": "Invalid parameter"}}
        wamid = f"wamid.{uuid.uuid4().hex}"
        if self.callback_url:
            threading.Thread(target=self._report, args=(wamid, body), daemon=True).start()
        return 200, {"messaging_product": "whatsapp", "contacts": [{"wa_id": body["to"]}],
                     "messages": [{"id": wamid}]}

    def settings(self) -> dict[str, str]:
        return {"MPP_NOTIFY_PROVIDER": "whatsapp", "MPP_WHATSAPP_API_BASE": self.url + "/v21.0",
                "MPP_WHATSAPP_PHONE_NUMBER_ID": self.phone_number_id,
                "MPP_WHATSAPP_TOKEN": self.token, "MPP_WHATSAPP_APP_SECRET": self.app_secret}


class SmsStandIn(_StandIn):
    def answer(self, path: str, headers: dict[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        if headers.get("x-api-key") != self.token:
            return 401, {"status": "unauthorized"}
        if not body.get("msisdn") or not body.get("message"):
            return 400, {"status": "missing parameters"}
        return 200, {"status": "queued", "data": {"id": f"sms-{uuid.uuid4().hex[:12]}"}}

    def settings(self) -> dict[str, str]:
        return {"MPP_NOTIFY_PROVIDER": "http_sms", "MPP_SMS_URL": self.url + "/api/send",
                "MPP_SMS_TO_PARAM": "msisdn", "MPP_SMS_TEXT_PARAM": "message",
                "MPP_SMS_AUTH_HEADER": "X-Api-Key", "MPP_SMS_AUTH_VALUE": self.token,
                "MPP_SMS_EXTRA_PARAMS": '{"sender": "MPP"}',
                "MPP_SMS_ANSWER_ID_FIELD": "data.id"}
