"""Growing delays between delivery attempts (messages and webhooks share them)."""

from __future__ import annotations


def retry_delay_seconds(attempt: int, *, base: float, cap: float) -> float:
    """The wait after failed attempt number `attempt` (1 = the first): base, 2x, 4x... capped.

    With base 10 s the first retry comes within a minute (the webhook contract asks for that)
    and a provider down for an hour is tried about a dozen times, not thousands."""
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    return float(min(cap, base * 2 ** min(attempt - 1, 30)))


def gives_up(attempts: int, max_attempts: int) -> bool:
    """True once `attempts` attempts have failed and no more may follow."""
    return attempts >= max_attempts
