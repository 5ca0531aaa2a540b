"""A share of a check's points, in cents: what every kind that scores "so many of so many" rounds the same way.

Decimal only; never above the points shared.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def share(points: Decimal, done: int, total: int) -> Decimal:
    """``points * done / total`` rounded to cents, never above ``points``."""
    if total <= 0:
        return Decimal("0")
    return min(points, (points * Decimal(done) / Decimal(total)).quantize(CENT, rounding=ROUND_HALF_UP))
