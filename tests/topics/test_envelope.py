"""The contract as code: every valid event decodes, every malformed one gets one clear line."""

import copy
from datetime import timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import factory
from topics.catalog import APPLICATIONS, BY_NAME, CHECKINS, JOBS, MARKETS, SEEKERS, Topic
from topics.envelope import Event, Limits, Rejection, decode, unknown_fields

NOW = factory.BASE + timedelta(hours=1)
LIMITS = Limits(max_message_bytes=64 * 1024, max_future_skew=timedelta(days=1))

VALID = [
    (JOBS, factory.job_posted("J1")),
    (JOBS, factory.job_updated("J1", 5, headcount=3)),
    (JOBS, factory.job_closed("J1", 6, "filled")),
    (SEEKERS, factory.seeker_registered("S1")),
    (SEEKERS, factory.seeker_updated("S1", 5, travel_mode="walk")),
    (SEEKERS, factory.seeker_withdrawn("S1", 6)),
    (CHECKINS, factory.checkin("S1", market_id="M1")),
    (CHECKINS, factory.checkin("S1", location={"lat": 32.1, "lon": 119.4})),
    (CHECKINS, factory.checkout("S1", 5)),
    (APPLICATIONS, factory.application_submitted("A1", "J1", "S1")),
    (APPLICATIONS, factory.hire_confirmed("J1", "S1")),
    (MARKETS, factory.market_upserted("M1")),
    (MARKETS, factory.market_removed("M1", 5)),
]


def key_of(topic: Topic, event: dict[str, Any]) -> bytes | None:
    if not isinstance(event["data"], dict):
        return b"k"
    entity_id = topic.key_of(event["data"])
    return entity_id.encode() if entity_id else None


def decoded(topic: Topic, event: dict[str, Any]) -> Event | Rejection:
    return decode(topic, key_of(topic, event), orjson.dumps(event), NOW, LIMITS)


def reason(topic: Topic, event: dict[str, Any]) -> str:
    result = decoded(topic, event)
    assert isinstance(result, Rejection), result
    return result.reason


@pytest.mark.parametrize(("topic", "event"), VALID, ids=[e["type"] for _, e in VALID])
def test_every_event_type_of_the_contract_decodes(topic: Topic, event: dict[str, Any]) -> None:
    result = decoded(topic, event)
    assert isinstance(result, Event), result
    assert result.type == event["type"]
    assert result.event_id == event["event_id"]


def test_unknown_fields_are_kept_for_storage() -> None:
    event = factory.job_posted("J1", salary_note="包午饭")
    result = decoded(JOBS, event)
    assert isinstance(result, Event)
    assert unknown_fields(result) == {"salary_note": "包午饭"}


def test_application_withdrawn_may_be_keyed_by_application_id() -> None:
    event = factory.application_withdrawn("A1", 5)
    assert isinstance(decode(APPLICATIONS, b"A1", orjson.dumps(event), NOW, LIMITS), Event)


def broken(event: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    event = copy.deepcopy(event)
    *parents, last = path.split(".")
    node = event
    for name in parents:
        node = node[name]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return event


JOB = factory.job_posted("J1")


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("data.location.lat", 95.2, "data.location.lat: expected `float` <= 85.05112878, got 95.2"),
        ("data.location.lon", -181, "data.location.lon: expected `float` >= -180.0, got -181"),
        ("data.headcount", 0, "data.headcount: expected `int` >= 1, got 0"),
        ("data.headcount", "2", 'data.headcount: expected `int`, got `str`, got "2"'),
        ("data.headcount", True, "data.headcount: expected `int`, got `bool`"),
        ("data.wage.amount", 0, "data.wage.amount: expected `float` > 0.0, got 0"),
        ("data.wage.unit", "week", "data.wage.unit: invalid enum value 'week'"),
        ("data.title", KeyError, "data: object missing required field `title`"),
        ("data.skills", "叉车", "data.skills: expected `array`, got `str`"),
        ("data.shift.start", "tomorrow", "data.shift.start: invalid RFC3339 encoded datetime"),
        ("data.shift.end", "2026-11-27T08:00:00", "data.shift.end: expected `datetime` with a"),
        ("data.shift.end", "2026-11-27T08:30:00+00:00", "data.shift: end 2026-11-27T08:30:00"),
        ("occurred_at", "2026-13-01T00:00:00Z", "occurred_at: invalid RFC3339 encoded datetime"),
        ("occurred_at", "2099-01-01T00:00:00Z", "is more than 24h in the future"),
        ("occurred_at", "1970-01-01T00:00:00Z", "occurred_at 1970-01-01T00:00:00+00:00 is before"),
        ("type", "job.deleted", "type 'job.deleted' is not an event of gig.jobs"),
        ("event_id", "", "event_id: expected `str` of length >= 1"),
        ("event_id", "x" * 65, "event_id: expected `str` of length <= 64"),
        ("event_id", KeyError, "message: object missing required field `event_id`"),
        ("source", "web", "source 'web' is not a known channel"),
        ("data", [], "job.posted: data: expected `object`, got `array`"),
    ],
)
def test_a_malformed_field_is_rejected_with_its_path_and_value(
    path: str, value: Any, expected: str
) -> None:
    assert expected in reason(JOBS, broken(JOB, path, value))


def test_a_checkin_names_a_market_or_a_location_not_both() -> None:
    both = factory.checkin("S1", market_id="M1", location={"lat": 32.1, "lon": 119.4})
    assert "exactly one of market_id and location" in reason(CHECKINS, both)
    assert "exactly one of market_id and location" in reason(CHECKINS, factory.checkin("S1"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", "message is empty"),
        (b"\xff\xfe{}", "not UTF-8: invalid byte at position 0"),
        (b"{not json", "not JSON: "),
        (b'{"event_id": NaN}', "not JSON: "),
        (b"[1, 2]", "message: expected `object`, got `array`"),
        (b"x" * (64 * 1024 + 1), "message is 65537 bytes, over the 65536-byte limit"),
    ],
)
def test_unreadable_messages_are_rejected(raw: bytes, expected: str) -> None:
    result = decode(JOBS, b"J1", raw, NOW, LIMITS)
    assert isinstance(result, Rejection)
    assert expected in result.reason


def test_the_message_key_must_be_the_entity_id() -> None:
    raw = orjson.dumps(JOB)
    missing = decode(JOBS, None, raw, NOW, LIMITS)
    wrong = decode(JOBS, b"J2", raw, NOW, LIMITS)
    assert isinstance(missing, Rejection) and "no key" in missing.reason
    assert isinstance(wrong, Rejection)
    assert wrong.reason == "message key 'J2' is not data.job_id 'J1'"


def test_an_event_of_another_topic_is_rejected() -> None:
    assert "is not an event of gig.markets" in reason(MARKETS, factory.seeker_registered("S1"))


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300)
@given(raw=st.binary(max_size=300), topic=st.sampled_from(list(BY_NAME.values())[:5]))
def test_any_bytes_decode_to_an_event_or_one_line_of_reason(raw: bytes, topic: Topic) -> None:
    result = decode(topic, b"k", raw, NOW, LIMITS)
    assert isinstance(result, Event | Rejection)
    if isinstance(result, Rejection):
        assert result.reason and "\n" not in result.reason


@settings(max_examples=300)
@given(
    base=st.sampled_from(VALID),
    field=st.sampled_from(["event_id", "type", "occurred_at", "source", "data"]),
    sub=st.text(max_size=12),
    value=JSON,
)
def test_any_field_replaced_by_any_json_never_raises(
    base: tuple[Topic, dict[str, Any]], field: str, sub: str, value: Any
) -> None:
    topic, event = base
    event = copy.deepcopy(event)
    if field == "data" and sub:
        event["data"][sub] = value
    else:
        event[field] = value
    raw = orjson.dumps(event)
    result = decode(topic, key_of(topic, event), raw, NOW, LIMITS)
    assert isinstance(result, Event | Rejection)
    if isinstance(result, Rejection):
        assert result.reason and "\n" not in result.reason


def test_a_reason_never_repeats_a_phone_number_or_a_name() -> None:
    seeker = factory.seeker_registered("S1", phone="1381234567812345678901234567890123")
    assert "13812345678" not in reason(SEEKERS, seeker)
    nameless = factory.seeker_registered("S1", name="张" * 65)
    assert "张张" not in reason(SEEKERS, nameless)


def test_a_message_nested_thousands_of_levels_deep_is_rejected_not_raised() -> None:
    event = factory.job_posted("deep-1", 0)
    deep = b"[" * 5000 + b"]" * 5000
    raw = orjson.dumps(event)[:-2] + b',"nest":' + deep + b"}}"
    result = decode(JOBS, b"deep-1", raw, NOW, LIMITS)
    assert isinstance(result, Rejection)
    assert result.reason.startswith("nested too deeply")
