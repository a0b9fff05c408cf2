"""Where citizens' messages go: the "message" channel of the outbox and its providers.

MPP_NOTIFY_PROVIDER picks one: `log` (development: the text goes to the log, the number
masked), `whatsapp` (the WhatsApp Business Cloud API) or `http_sms` (a generic HTTP SMS
gateway described by settings). Each provider turns one outbox row into one HTTP request and
its answer into an Outcome; the relay does the rest (app/services/outbox.py).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import httpx
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.domain.contact import mask_phone
from app.services import channels, notify_texts
from app.services.channels import Outcome, Outgoing

log = logging.getLogger(__name__)


class Provider(Protocol):
    def deliver(self, phone: str, item: Outgoing) -> Outcome: ...


def text_of(item: Outgoing) -> str:
    p = item.payload
    return notify_texts.render(p["type"], p.get("lang", "id"), p.get("params", {}))


class LogProvider:
    def deliver(self, phone: str, item: Outgoing) -> Outcome:
        log.info("message %s to %s: %s", item.key, mask_phone(phone), text_of(item))
        return Outcome("sent", provider_ref=f"log-{item.id}")


class WhatsAppProvider:
    """POST {base}/{phone_number_id}/messages, a template when one is set for the type."""

    def __init__(self, settings: Settings, client: httpx.Client) -> None:
        self.settings = settings
        self.client = client

    def body(self, phone: str, item: Outgoing) -> dict[str, Any]:
        p = item.payload
        kind, lang = p["type"], p.get("lang", "id")
        body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual",
                                "to": phone, "biz_opaque_callback_data": item.key}
        template = self.settings.whatsapp_templates.get(kind)
        if template and template.get("name"):
            code = template.get(f"language_{lang}") or (template.get("language", "id")
                                                        if lang == "id" else lang)
            params = notify_texts.ordered_params(kind, p.get("params", {}))
            body.update(type="template", template={
                "name": template["name"], "language": {"code": code},
                "components": [{"type": "body", "parameters": [
                    {"type": "text", "text": v} for v in params]}]})
        else:
            body.update(type="text", text={"preview_url": False, "body": text_of(item)})
        return body

    def deliver(self, phone: str, item: Outgoing) -> Outcome:
        s = self.settings
        if not s.whatsapp_phone_number_id or not s.whatsapp_token:
            return Outcome("retry", error="WhatsApp is not configured")
        url = f"{s.whatsapp_api_base.rstrip('/')}/{s.whatsapp_phone_number_id}/messages"
        answer = self.client.post(url, json=self.body(phone, item), headers={
            "Authorization": f"Bearer {s.whatsapp_token}", "Idempotency-Key": item.key})
        ref = None
        if answer.is_success:
            try:
                ref = answer.json()["messages"][0]["id"]
            except (ValueError, KeyError, IndexError, TypeError):
                ref = None
        return Outcome.from_http(answer.status_code, answer.text, ref)


def _dig(data: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


class HttpSmsProvider:
    def __init__(self, settings: Settings, client: httpx.Client) -> None:
        self.settings = settings
        self.client = client

    def deliver(self, phone: str, item: Outgoing) -> Outcome:
        s = self.settings
        if not s.sms_url:
            return Outcome("retry", error="the SMS gateway is not configured")
        values = {**s.sms_extra_params, s.sms_to_param: phone, s.sms_text_param: text_of(item)}
        if s.sms_id_param:
            values[s.sms_id_param] = item.key
        headers = {"Idempotency-Key": item.key}
        if s.sms_auth_header and s.sms_auth_value:
            headers[s.sms_auth_header] = s.sms_auth_value
        if s.sms_method == "GET" or s.sms_format == "query":
            answer = self.client.request(s.sms_method, s.sms_url, params=values, headers=headers)
        elif s.sms_format == "json":
            answer = self.client.request(s.sms_method, s.sms_url, json=values, headers=headers)
        else:
            answer = self.client.request(s.sms_method, s.sms_url, data=values, headers=headers)
        ref = None
        if answer.is_success and s.sms_answer_id_field:
            try:
                found = _dig(answer.json(), s.sms_answer_id_field)
            except ValueError:
                found = None
            ref = str(found) if found is not None else None
        return Outcome.from_http(answer.status_code, answer.text, ref)


class MessageChannel:
    """The outbox's "message" kind: one row, one message to the phone in its target."""

    def __init__(self, provider: Provider | None) -> None:
        self.provider = provider

    def send(self, item: Outgoing) -> Outcome:
        if self.provider is None:
            return Outcome("failed", error="MPP_NOTIFY_PROVIDER is none")
        if not item.target:
            return Outcome("failed", error="no phone (purged)")
        try:
            return self.provider.deliver(item.target, item)
        except httpx.HTTPError as exc:
            return Outcome("retry", error=f"{type(exc).__name__}: {exc}")


def make_provider(settings: Settings) -> Provider | None:
    client = httpx.Client(timeout=settings.outbox_timeout_seconds)
    if settings.notify_provider == "whatsapp":
        return WhatsAppProvider(settings, client)
    if settings.notify_provider == "http_sms":
        return HttpSmsProvider(settings, client)
    if settings.notify_provider == "log":
        return LogProvider()
    return None


def _factory(settings: Settings, _factory: sessionmaker[Session]) -> MessageChannel:
    return MessageChannel(make_provider(settings))


channels.register("message", _factory)
