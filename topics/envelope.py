"""Decoding and validating one input message: an Event, or a Rejection with its reason.

msgspec validates while it parses (types, ranges, required fields) at C speed;
the checks it cannot express follow, each with a reason a person can act on.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import orjson

from topics.catalog import Topic
from topics.fields import EntityId, Timestamp, epoch_ms
from topics.seekers import PERSONAL_FIELDS

# An occurred_at before this is a broken clock upstream, not history.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
SOURCE = re.compile(
    r"(market|station|livestream|employer-api):[A-Za-z0-9_.\-]{1,64}"
    r"|online:jiuzai-zhenjiang|online:jiuzai-jiangsu|alipay"
)
# The decoder recurses per level of nesting; a hostile message must not take the
# worker's stack (Python's limit, about a thousand levels, ends it first).
TOO_DEEP = "nested too deeply: objects and arrays may nest a few hundred levels at most"
_ERROR_PATH = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)


class Envelope(msgspec.Struct, frozen=True):
    event_id: EntityId
    type: str
    occurred_at: Timestamp
    source: str
    data: msgspec.Raw


class Event(msgspec.Struct, frozen=True):
    event_id: str
    type: str
    occurred_at: datetime
    source: str
    data: Any
    # The data as sent, so that fields this version does not know are kept.
    data_raw: bytes

    @property
    def occurred_ms(self) -> int:
        return epoch_ms(self.occurred_at)


@dataclass(frozen=True)
class Rejection:
    reason: str


@dataclass(frozen=True)
class Limits:
    max_message_bytes: int
    max_future_skew: timedelta


def decode(
    topic: Topic, key: bytes | None, raw: bytes, now: datetime, limits: Limits
) -> Event | Rejection:
    """Validate one message of an input topic against the contract."""
    problem = _frame_problem(raw, limits)
    if problem:
        return Rejection(problem)
    try:
        envelope = msgspec.json.decode(raw, type=Envelope)
    except msgspec.ValidationError as err:
        return Rejection(_explain(err, raw, ""))
    except msgspec.DecodeError as err:
        return Rejection(f"not JSON: {err}")
    except RecursionError:
        return Rejection(TOO_DEEP)
    problem = _envelope_problem(topic, envelope, now, limits)
    if problem:
        return Rejection(problem)
    data_type = topic.event_types[envelope.type]
    try:
        data = msgspec.json.decode(envelope.data, type=data_type)
    except msgspec.ValidationError as err:
        return Rejection(f"{envelope.type}: {_explain(err, bytes(envelope.data), 'data')}")
    except RecursionError:
        return Rejection(TOO_DEEP)
    problem = _key_problem(topic, key, data)
    if problem:
        return Rejection(problem)
    return Event(
        envelope.event_id,
        envelope.type,
        envelope.occurred_at,
        envelope.source,
        data,
        bytes(envelope.data),
    )


def unknown_fields(event: Event) -> dict[str, Any]:
    """The data fields the contract does not name; stored beside the known ones."""
    known = event.data.__struct_fields__
    doc: dict[str, Any] = orjson.loads(event.data_raw)
    return {name: value for name, value in doc.items() if name not in known}


def _frame_problem(raw: bytes, limits: Limits) -> str | None:
    if not raw:
        return "message is empty: expected one JSON object"
    if len(raw) > limits.max_message_bytes:
        return f"message is {len(raw)} bytes, over the {limits.max_message_bytes}-byte limit"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return f"not UTF-8: invalid byte at position {err.start}"
    return None


def _envelope_problem(
    topic: Topic, envelope: Envelope, now: datetime, limits: Limits
) -> str | None:
    if envelope.type not in topic.event_types:
        expected = ", ".join(topic.event_types)
        return f"type {envelope.type!r} is not an event of {topic.name} (expected {expected})"
    if not SOURCE.fullmatch(envelope.source):
        return (
            f"source {envelope.source[:80]!r} is not a known channel (market:<id>, station:<id>,"
            " online:jiuzai-zhenjiang, online:jiuzai-jiangsu, alipay, livestream:<id>,"
            " employer-api:<id>)"
        )
    if envelope.occurred_at < EARLIEST:
        return f"occurred_at {envelope.occurred_at.isoformat()} is before {EARLIEST.year}"
    if envelope.occurred_at > now + limits.max_future_skew:
        return (
            f"occurred_at {envelope.occurred_at.isoformat()} is more than"
            f" {limits.max_future_skew.total_seconds() / 3600:g}h in the future:"
            " check the source's clock"
        )
    return None


def _key_problem(topic: Topic, key: bytes | None, data: msgspec.Struct) -> str | None:
    for key_field in topic.key_fields:
        entity_id = getattr(data, key_field, None)
        if entity_id is None:
            continue
        if key is None:
            return f"message has no key: key {topic.name} messages by data.{key_field}"
        if key != entity_id.encode():
            shown = key[:80].decode("utf-8", "replace")
            return f"message key {shown!r} is not data.{key_field} {entity_id!r}"
        return None
    return None


def _explain(err: msgspec.ValidationError, raw: bytes, prefix: str) -> str:
    """'data.location.lat: expected `float` <= 90.0, got 95.2' from msgspec's message."""
    match = _ERROR_PATH.match(str(err))
    assert match is not None  # the pattern matches any string
    what, path = match["what"], match["path"] or ""
    where = (prefix + path).lstrip(".") or "message"
    what = what[0].lower() + what[1:]
    # A reason must not repeat personal information (phone, name) in full.
    shown = None if where.rsplit(".", 1)[-1] in PERSONAL_FIELDS else _value_at(raw, path)
    return f"{where}: {what}" + (f", got {shown}" if shown is not None else "")


def _value_at(raw: bytes, path: str) -> str | None:
    """The offending value, shortened, when the path leads to a scalar."""
    try:
        node: Any = orjson.loads(raw)
        for name, index in re.findall(r"\.([^.\[]+)|\[(\d+)\]", path):
            node = node[name] if name else node[int(index)]
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
        return None
    if isinstance(node, dict | list):
        return None
    return orjson.dumps(node).decode()[:80]
