"""Summary statistics for latency samples: percentiles, medians, ratios.

Percentiles use the nearest-rank rule on the sorted samples (the value a sample actually
took, never an interpolation between two), so ``p99`` of 50 samples is the largest but one
and ``max`` is always a measured round trip. Times are kept in milliseconds as floats.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Summary", "median", "percentile", "ratio", "summarize"]


def percentile(sorted_samples: Sequence[float], q: float) -> float:
    """Return the nearest-rank ``q`` percentile (0 < q <= 100) of already sorted samples.

    Raises:
        ValueError: if there are no samples or ``q`` is out of range.
    """
    if not sorted_samples:
        raise ValueError("no samples")
    if not 0.0 < q <= 100.0:
        raise ValueError(f"percentile must be in (0, 100], got {q}")
    rank = math.ceil(q / 100.0 * len(sorted_samples))
    return float(sorted_samples[max(rank, 1) - 1])


def median(samples: Sequence[float]) -> float:
    """Return the median (mean of the two middle values for an even count).

    Raises:
        ValueError: if there are no samples.
    """
    if not samples:
        raise ValueError("no samples")
    s = sorted(samples)
    mid = len(s) // 2
    if len(s) % 2:
        return float(s[mid])
    return (s[mid - 1] + s[mid]) / 2.0


def ratio(value: float | None, floor: float | None) -> float | None:
    """Return ``value / floor``, or None when either is missing or the floor is not positive."""
    if value is None or floor is None or floor <= 0.0:
        return None
    return value / floor


@dataclass(frozen=True)
class Summary:
    """Latency summary of one operation: count, percentiles and extremes, in milliseconds."""

    n: int
    p50: float
    p90: float
    p99: float
    max: float
    min: float
    mean: float

    def as_dict(self) -> dict[str, float | int]:
        """The summary as a JSON-ready mapping (``p50_ms`` ... ``mean_ms``)."""
        return {
            "n": self.n,
            "p50_ms": round(self.p50, 4),
            "p90_ms": round(self.p90, 4),
            "p99_ms": round(self.p99, 4),
            "max_ms": round(self.max, 4),
            "min_ms": round(self.min, 4),
            "mean_ms": round(self.mean, 4),
        }


def summarize(samples_ms: Sequence[float]) -> Summary:
    """Summarise latency samples (milliseconds).

    Raises:
        ValueError: if there are no samples.
    """
    if not samples_ms:
        raise ValueError("no samples")
    s = sorted(samples_ms)
    return Summary(
        n=len(s),
        p50=percentile(s, 50),
        p90=percentile(s, 90),
        p99=percentile(s, 99),
        max=float(s[-1]),
        min=float(s[0]),
        mean=math.fsum(s) / len(s),
    )
