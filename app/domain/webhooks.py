"""Webhook rules: which events exist, what a payload may carry, when to retry, which targets
are refused. Pure functions; delivery itself is app/services/webhooks.py."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from app.domain.errors import InvalidValue

EVENTS = ("ticket.issued", "ticket.called", "ticket.started", "ticket.finished",
          "ticket.no_show", "ticket.transferred", "visit.step_changed", "booking.created",
          "booking.cancelled", "booking.checked_in", "survey.submitted", "day.closed")
# ticket_event.type -> webhook event (other kinds of change, e.g. held, are not published).
TICKET_EVENT_TYPES = {"issued": "ticket.issued", "called": "ticket.called",
                      "recalled": "ticket.called", "started": "ticket.started",
                      "finished": "ticket.finished", "no_show": "ticket.no_show",
                      "transferred": "ticket.transferred", "step": "visit.step_changed",
                      "step_queued": "visit.step_changed"}
# booking_event.type -> webhook event (booking.created comes from the booking row itself,
# booking.checked_in from its ticket's "issued" event).
BOOKING_EVENT_TYPES = {"cancelled": "booking.cancelled"}
# Seconds after failed delivery attempt 1, 2, ...: the first retry within a minute, then
# growing up to a day; the last figure repeats.
RETRY_SCHEDULE = (5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 57600, 86400)
MAX_ATTEMPTS = 16
# An endpoint failing without a single success for this long is switched off.
DISABLE_AFTER_SECONDS = 24 * 3600
# The only keys a payload's data may hold: codes, numbers, statuses and times; never a name,
# phone, NIK or free text.
PAYLOAD_KEYS = frozenset({
    "event_id", "ticket_id", "number", "status", "from_status", "site_code", "agency_code",
    "service_code", "counter", "priority", "day", "at", "issued_at", "recall", "channel",
    "booking_id", "slot_start", "tickets_closed", "counters_closed",
})


def check_events(events: Iterable[str]) -> list[str]:
    """A subscription's event filter: known events, each once ("*" means all)."""
    out: list[str] = []
    for e in events:
        if e != "*" and e not in EVENTS:
            raise InvalidValue("events", f"peristiwa tidak dikenal: {e}", f"unknown event: {e}")
        if e not in out:
            out.append(e)
    if not out:
        raise InvalidValue("events", "pilih minimal satu peristiwa", "choose at least one event")
    return ["*"] if "*" in out else out


def subscribed(events: list[str], event_type: str) -> bool:
    return "*" in events or event_type in events


def retry_delay(real_attempts: int) -> int:
    """Seconds to wait after `real_attempts` failed attempts (1 = the first)."""
    return RETRY_SCHEDULE[min(max(real_attempts, 1), len(RETRY_SCHEDULE)) - 1]


def check_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL without credentials; InvalidValue otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidValue("url", "URL tidak valid", "invalid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidValue("url", "harus URL http:// atau https://", "must be an http(s) URL")
    if parts.username or parts.password:
        raise InvalidValue("url", "URL tidak boleh memuat kredensial",
                           "the URL must not carry credentials")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def address_refused(address: str) -> bool:
    """True for targets a public webhook must never reach (SSRF): loopback, link-local
    (cloud metadata at 169.254.169.254), private, shared, multicast, reserved, unspecified."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(ip.is_loopback or ip.is_link_local or ip.is_private or ip.is_multicast
                or ip.is_reserved or ip.is_unspecified or not ip.is_global)


def clean_data(data: dict[str, Any]) -> dict[str, Any]:
    """Keep only the allowed keys: a payload never carries personal data by construction."""
    return {k: v for k, v in data.items() if k in PAYLOAD_KEYS}
