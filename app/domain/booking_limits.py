"""Against booking hoarding (issue 16 item 3): one anonymous client must not book out a service.

Two rules, both pure:

- **Request windows.** `POST /api/v1/bookings` is counted per client address and per device
  cookie in short windows (a minute) and a long one (an hour). A window's limit 0 switches it
  off. The API layer counts (app/api/ratelimit.py) and answers 429 ``rate_limited`` with
  ``Retry-After``.
- **Open bookings per phone per service.** A phone number holds at most `cap` bookings that are
  still open (status ``booked``, slot not yet over) for one service; the next one is refused
  with 409 ``booking_already_held``. A phone is a weak identity unless the service requires it
  confirmed by a one-time code (``service.requires_phone_otp``): then the cap really binds.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.errors import DomainError

# Statuses of a booking that still holds a place.
OPEN_STATUSES = ("booked",)


@dataclass(frozen=True)
class Window:
    """At most `limit` requests per `seconds` per `scope` ("ip" or "device")."""

    scope: str
    limit: int
    seconds: int


def create_windows(*, ip_per_minute: int, ip_per_hour: int, device_per_minute: int,
                   device_per_hour: int) -> tuple[Window, ...]:
    """The windows a booking request is counted in; the short ones first (they refuse first)."""
    windows = (Window("ip", ip_per_minute, 60), Window("device", device_per_minute, 60),
               Window("ip", ip_per_hour, 3600), Window("device", device_per_hour, 3600))
    return tuple(w for w in windows if w.limit > 0)


def check_open_per_phone_service(open_count: int, cap: int) -> None:
    """Refuse one more open booking for a phone that already holds `cap` for this service
    (cap 0 switches the rule off)."""
    if cap > 0 and open_count >= cap:
        raise DomainError("booking_already_held", count=open_count)
