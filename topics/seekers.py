"""Data of the gig.seekers events (key: seeker_id)."""

from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from topics.fields import MAX_LIST, EntityId, Point, Tags, Text, TimeRange, TravelMode, Wage

Occupations = Annotated[list[Text], Meta(min_length=1, max_length=MAX_LIST)]
Availability = Annotated[list[TimeRange], Meta(max_length=MAX_LIST)]
# Personal information: kept in the seeker's state, shown only masked
# (processors.privacy), never repeated in a rejection reason.
PERSONAL_FIELDS = frozenset({"phone", "name"})
Phone = Annotated[str, Meta(min_length=3, max_length=32)]
Name = Annotated[str, Meta(min_length=1, max_length=64)]


class SeekerRegistered(msgspec.Struct, frozen=True):
    seeker_id: EntityId
    occupations: Occupations
    skills: Tags
    home: Point
    travel_mode: TravelMode
    phone: Phone | None = None
    name: Name | None = None
    min_wage: Wage | None = None
    available: Availability = []
    push_opt_in: bool = True


class SeekerUpdated(msgspec.Struct, frozen=True):
    """Any subset of the seeker.registered fields; UNSET marks a field not sent."""

    seeker_id: EntityId
    occupations: Occupations | UnsetType = UNSET
    skills: Tags | UnsetType = UNSET
    home: Point | UnsetType = UNSET
    travel_mode: TravelMode | UnsetType = UNSET
    phone: Phone | UnsetType | None = UNSET
    name: Name | UnsetType | None = UNSET
    min_wage: Wage | UnsetType | None = UNSET
    available: Availability | UnsetType = UNSET
    push_opt_in: bool | UnsetType = UNSET


class SeekerWithdrawn(msgspec.Struct, frozen=True):
    seeker_id: EntityId
