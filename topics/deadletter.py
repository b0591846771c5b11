"""The gig.deadletter record: what was refused, where it came from, and why."""

import base64
from datetime import datetime
from typing import Any

import orjson


def deadletter_record(
    topic: str, partition: int, offset: int, raw: bytes, reason: str, at: datetime
) -> bytes:
    record: dict[str, Any] = {
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "reason": " ".join(reason.split()),  # always one line
        "at": at.isoformat(),
    }
    try:
        record["raw"] = raw.decode("utf-8")
    except UnicodeDecodeError:
        record["raw"] = base64.b64encode(raw).decode("ascii")
        record["raw_encoding"] = "base64"
    return orjson.dumps(record)
