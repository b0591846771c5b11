"""The kind of a dead letter's reason: a bounded label for gigstream_deadletters_total.

A reason is one line for a person (topics.envelope, processors, streams.pipeline);
its kind is read off the wording those write, and tests/streams/test_rejections.py
produces each wording from the code that writes it, so a reworded reason shows
there. A reason of no known wording is OTHER: counted, never lost.
"""

import re
from enum import StrEnum

from topics.envelope import TOO_DEEP


class Reason(StrEnum):
    EMPTY = "empty"
    TOO_LARGE = "too_large"
    NOT_UTF8 = "not_utf8"
    NOT_JSON = "not_json"
    TOO_DEEP = "too_deep"
    UNKNOWN_TYPE = "unknown_type"
    UNKNOWN_SOURCE = "unknown_source"
    BAD_TIME = "bad_time"  # occurred_at before 2000 or too far in the future
    BAD_KEY = "bad_key"  # no key, or not the entity id
    SCHEMA = "schema"  # a field missing, of the wrong type or out of range
    MARKET_REMOVED = "market_removed"
    REFERENT_TIMEOUT = "referent_timeout"  # what the event refers to never arrived
    INTERNAL = "internal"  # processing raised: a bug
    OTHER = "other"


_WORDINGS: list[tuple[re.Pattern[str], Reason]] = [
    (re.compile(r"internal error while "), Reason.INTERNAL),
    (re.compile(r".* did not arrive within "), Reason.REFERENT_TIMEOUT),
    (re.compile(r"message is empty"), Reason.EMPTY),
    (re.compile(r"message is \d+ bytes, over "), Reason.TOO_LARGE),
    (re.compile(r"not UTF-8"), Reason.NOT_UTF8),
    (re.compile(r"not JSON"), Reason.NOT_JSON),
    (re.compile(re.escape(TOO_DEEP)), Reason.TOO_DEEP),
    (re.compile(r"type .* is not an event of "), Reason.UNKNOWN_TYPE),
    (re.compile(r"source .* is not a known channel"), Reason.UNKNOWN_SOURCE),
    (re.compile(r"occurred_at \S+ is (before|more than)"), Reason.BAD_TIME),
    (re.compile(r"message (has no key|key )"), Reason.BAD_KEY),
    (re.compile(r"market .* was removed$"), Reason.MARKET_REMOVED),
    # topics.envelope's "<path>: <what>", after "<event type>: " for the data's fields.
    (re.compile(r"([a-z]+\.[a-z]+: )?[A-Za-z_][\w.\[\]]*: "), Reason.SCHEMA),
]


def reason_of(reason: str) -> Reason:
    for wording, kind in _WORDINGS:
        if wording.match(reason):
            return kind
    return Reason.OTHER
