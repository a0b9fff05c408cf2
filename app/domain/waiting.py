"""Waiting-time estimates printed on tickets and shown on the kiosk."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from fractions import Fraction

# Longer "service durations" are forgotten tickets (never finished), not real service.
MAX_PLAUSIBLE_MINUTES = 240.0


def average_service_minutes(
    recent_minutes: Sequence[float], typical_minutes: float, min_samples: int = 5
) -> float:
    """Median of recent real durations (robust to one stuck ticket) once there are enough
    plausible samples (0 < m <= 240); before that, the service's configured typical time."""
    samples = [float(m) for m in recent_minutes if 0 < m <= MAX_PLAUSIBLE_MINUTES]
    if len(samples) >= max(min_samples, 1):
        return float(statistics.median(samples))
    return float(typical_minutes)


def estimate_wait_minutes(people_ahead: int, open_counters: int, avg_service_minutes: float) -> int:
    """ceil(people_ahead * avg / counters), assuming one counter when none is open yet."""
    if people_ahead < 0 or avg_service_minutes < 0:
        raise ValueError("people_ahead and avg_service_minutes must be >= 0")
    if people_ahead == 0:
        return 0
    # Fraction of the decimal text avoids float noise such as 3 * 7.1 = 21.299999... -> 22.
    exact = people_ahead * Fraction(str(float(avg_service_minutes))) / max(open_counters, 1)
    return math.ceil(exact)


def wait_range(estimate: int) -> tuple[int, int]:
    """Range printed on the ticket: floor(0.8 * est) to ceil(1.3 * est); (0, 0) for 0.

    Asymmetric on purpose: queues run late more often than early (no-shows speed them up, but
    long cases and counters closing slow them down more), and a citizen who comes back early
    loses nothing while one who comes back late may miss the call.
    """
    if estimate < 0:
        raise ValueError("estimate must be >= 0")
    # Integer arithmetic so 0.8/1.3 float error cannot shift a bound.
    return (estimate * 8) // 10, -((-estimate * 13) // 10)
