"""The gigstream command as an operator uses it: publishing JSONL, the stack's status."""

import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
import redis

from ops.settings import Settings
from streams import keys
from tests import factory
from tests.integration.conftest import ROOT, Publisher, wait_for

pytestmark = pytest.mark.integration


def gigstream(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "ops.cli", *args], cwd=ROOT, input=stdin, capture_output=True
    )


def test_publish_reports_a_bad_line_by_number_and_publishes_the_rest(
    publish: Publisher, db: redis.Redis, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    shift = {
        "start": (now + timedelta(hours=1)).isoformat(),
        "end": (now + timedelta(hours=5)).isoformat(),
    }
    first, second = (f"cli-{uuid.uuid4().hex[:8]}" for _ in range(2))
    bad = factory.job_posted("cli-bad", 0, shift=shift)
    bad["data"]["headcount"] = 0
    lines = [
        orjson.dumps(factory.job_posted(first, 0, shift=shift)),
        orjson.dumps(bad),
        b"",
        b"{oops",
        orjson.dumps(factory.job_posted(second, 0, shift=shift)),
    ]
    source = tmp_path / "jobs.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")

    result = gigstream("publish", "gig.jobs", str(source))

    errors = result.stderr.decode()
    assert result.returncode == 1
    assert "line 2: job.posted: data.headcount: expected `int` >= 1, got 0" in errors
    assert "line 4: not JSON" in errors
    assert "published 2 events to gig.jobs, refused 2" in errors
    for job in (first, second):
        wait_for(lambda job=job: db.geopos(keys.GEO_JOBS, job)[0], f"published job {job}")


def test_publish_reads_stdin(publish: Publisher, db: redis.Redis) -> None:
    market = f"cli-market-{uuid.uuid4().hex[:8]}"
    result = gigstream(
        "publish", "gig.markets", stdin=orjson.dumps(factory.market_upserted(market))
    )
    assert result.returncode == 0, result.stderr.decode()
    wait_for(lambda: db.geopos(keys.GEO_MARKETS, market)[0], "the market from stdin")


def test_stack_status_names_each_service(live_stack: Settings) -> None:
    result = gigstream("stack", "status")
    lines = result.stdout.decode().splitlines()
    assert result.returncode == 0
    assert any(line.startswith("kafka: up") for line in lines), lines
    assert any(line.startswith("redis: up") for line in lines), lines
