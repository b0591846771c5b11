"""Last-writer-wins per field, so partial updates converge whatever order they arrive in.

Each field of a record carries the occurred_at (ms) of the event that last
wrote it; an event writes only the fields it sends whose stamp is not newer.
Stamping the whole record instead would let an older withdrawal lose to a
newer partial update that arrived first, and the outcome would depend on
arrival order. Equal stamps go to the later arrival.
"""

from collections.abc import Iterable
from typing import Any, TypeVar

import msgspec
from msgspec import UNSET

Record = TypeVar("Record", bound=msgspec.Struct)
Stamps = dict[str, int]


def newer_fields(
    update: msgspec.Struct, stamps: Stamps, occurred_ms: int, id_field: str
) -> dict[str, Any]:
    """The fields the update sends that are at least as new as the values they replace."""
    return {
        name: value
        for name in update.__struct_fields__
        if name != id_field
        and (value := getattr(update, name)) is not UNSET
        and stamps.get(name, occurred_ms) <= occurred_ms
    }


def stamped(stamps: Stamps, fields: Iterable[str], occurred_ms: int) -> Stamps:
    return {**stamps, **dict.fromkeys(fields, occurred_ms)}


def replace(record: Record, fields: dict[str, Any]) -> Record:
    return msgspec.structs.replace(record, **fields)
