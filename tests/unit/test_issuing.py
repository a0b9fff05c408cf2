"""The one issue decision (app/domain/issuing.py), from facts only."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from app.domain.issuing import (
    Actor,
    DayFacts,
    IssueRequest,
    NewTicket,
    Refusal,
    ServiceFacts,
    decide_issue,
    replay,
    request_fingerprint,
    walkin_limit,
)

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # Monday 10.00 WIB
LOCAL = NOW.astimezone(ZoneInfo("Asia/Jakarta"))
SERVICE = ServiceFacts(id=7, site_id=1, agency_id=3, prefix="A", daily_quota=10,
                       typical_minutes=8, opening_hours={"mon": [["08:00", "15:00"]]},
                       booking_enabled=False, is_active=True, agency_active=True, zone=None,
                       timezone="Asia/Jakarta", open_counters=1)
TODAY = DayFacts(LOCAL, None, [], quota_used=3)
KIOSK = Actor(None, "device:5", frozenset({1}))


def _decide(service=SERVICE, today=TODAY, actor=KIOSK, held=None, **request):
    return decide_issue(service, today, IssueRequest(service_id=7, **request), actor, now=NOW,
                        tracking_code="t", held_for_bookings=held)


def test_a_plain_request_gets_a_waiting_ticket_with_its_event_and_key():
    new = _decide(priority="lansia", idempotency_key="k1")
    assert isinstance(new, NewTicket)
    assert (new.status, new.event_type, new.day, new.hour, new.weekday) == (
        "waiting", "issued", LOCAL.date(), 10, 1)
    assert (new.used, new.quota_limit, new.priority, new.sort_at) == (1, 10, "lansia", NOW)
    assert (new.idem_scope, new.idem_key) == ("device:5", "k1")
    assert new.idem_hash == request_fingerprint(7, "lansia")


@pytest.mark.parametrize(("change", "code"), [
    ({"service": None}, "not_found"),
    ({"service": dataclasses.replace(SERVICE, is_active=False)}, "service_inactive"),
    ({"service": dataclasses.replace(SERVICE, agency_active=False)}, "service_inactive"),
    ({"actor": Actor(None, "device:9", frozenset({2}))}, "forbidden"),
    ({"today": DayFacts(LOCAL.replace(hour=16), None, [], 0)}, "service_closed"),
    ({"today": DayFacts(LOCAL, [(time(13), time(14))], [], 0)}, "service_closed"),  # special day
    ({"today": DayFacts(LOCAL, None, [], quota_used=10)}, "quota_exhausted"),
    ({"priority": "vip"}, "invalid_value"),
    ({"priority": "other"}, "invalid_value"),
    ({"priority": "sakit"}, "invalid_value"),  # not offered at this service
])
def test_refusals_carry_their_code(change, code):
    decided = _decide(**change)
    assert isinstance(decided, Refusal) and decided.code == code


def test_priority_for_the_sick_where_the_service_offers_it():
    sick = dataclasses.replace(SERVICE, priority_sick=True)
    assert _decide(service=sick, priority="sakit").priority == "sakit"
    assert _decide(priority="sakit", channel="transfer").priority == "sakit"


def test_transfers_and_booked_arrivals_skip_hours_and_quota():
    late = DayFacts(LOCAL.replace(hour=16), None, [], quota_used=10)
    new = _decide(today=late, count_quota=False, check_hours=False, channel="transfer")
    assert isinstance(new, NewTicket) and (new.used, new.quota_limit) == (0, None)


def test_walk_ins_leave_the_places_held_for_bookings():
    booked = dataclasses.replace(SERVICE, booking_enabled=True)
    with pytest.raises(ValueError):
        _decide(service=booked)  # the fact is needed, not guessed
    assert _decide(service=booked, held=6).quota_limit == 4
    assert _decide(service=booked, held=7).code == "quota_exhausted"  # 3 used of 3
    assert walkin_limit(10, 12) == 0 and walkin_limit(None, 3) is None


def test_a_retry_must_ask_the_same():
    stored = request_fingerprint(7, None)
    assert replay(stored, IssueRequest(service_id=7)) is None
    assert replay(stored, IssueRequest(service_id=8)).code == "idempotency_conflict"
    assert replay(stored, IssueRequest(service_id=7, priority="anak")).code == (
        "idempotency_conflict")
