"""The travel model: minutes from A to B by a travel mode, and the 15-minute circle.

Minutes are the great-circle distance stretched by a street detour factor and
divided by the mode's speed (EVENTS.md); there is no road network behind them.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol, get_args

from topics.fields import TravelMode

# The IUGG mean Earth radius. Redis's geo commands use 6372.797560856 km, so a
# distance Redis reports is 0.028% longer than distance_km's.
EARTH_RADIUS_KM = 6371.0088
MODES: tuple[TravelMode, ...] = get_args(TravelMode)
DEFAULT_SPEEDS: Mapping[TravelMode, float] = MappingProxyType(
    {"walk": 4.5, "bike": 12.0, "ebike": 18.0, "transit": 15.0, "car": 25.0}
)


class Located(Protocol):
    """Anything with a latitude and a longitude in degrees: a Point, a Location, a spot."""

    @property
    def lat(self) -> float: ...

    @property
    def lon(self) -> float: ...


def distance_km(a: Located, b: Located) -> float:
    """Great-circle distance by the haversine formula on a sphere of EARTH_RADIUS_KM."""
    phi_a, phi_b = math.radians(a.lat), math.radians(b.lat)
    half_dphi = (phi_b - phi_a) / 2
    half_dlambda = math.radians(b.lon - a.lon) / 2
    h = math.sin(half_dphi) ** 2 + math.cos(phi_a) * math.cos(phi_b) * math.sin(half_dlambda) ** 2
    # Rounding can push h a hair past 1 for antipodal points.
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, h)))


@dataclass(frozen=True)
class TravelModel:
    detour_factor: float = 1.3
    speeds: Mapping[TravelMode, float] = field(default_factory=lambda: DEFAULT_SPEEDS)  # km/h
    circle_minutes: float = 15.0

    def __post_init__(self) -> None:
        if self.detour_factor <= 0 or self.circle_minutes <= 0:
            raise ValueError("detour_factor and circle_minutes must be positive")
        if any(self.speeds.get(mode, 0) <= 0 for mode in MODES):
            raise ValueError(f"every travel mode needs a positive speed: {dict(self.speeds)}")

    def minutes(self, a: Located, b: Located, mode: TravelMode) -> float:
        return distance_km(a, b) * self.detour_factor / self.speeds[mode] * 60

    def radius_km(self, mode: TravelMode, minutes: float | None = None) -> float:
        """The straight-line distance that takes `minutes` (default: the circle) by `mode`.

        A geo index searched with exactly this radius can drop a point on the
        circle's edge to rounding or to another Earth radius (Redis); pad it.
        """
        limit = self.circle_minutes if minutes is None else minutes
        return limit / 60 * self.speeds[mode] / self.detour_factor

    def within(
        self, a: Located, b: Located, mode: TravelMode, minutes: float | None = None
    ) -> bool:
        """Whether b is at most `minutes` (default: the circle) from a by `mode`; the edge is in."""
        limit = self.circle_minutes if minutes is None else minutes
        return self.minutes(a, b, mode) <= limit
