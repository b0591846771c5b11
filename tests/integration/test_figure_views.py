"""The figures' HTTP API on a real worker: events published to Kafka show in
/figures/positions-per-seeker and /figures/wages, read from the counters the worker keeps."""

import json
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from tests import factory
from tests.integration.conftest import Publisher, Worker, wait_for
from topics.catalog import JOBS, SEEKERS

pytestmark = pytest.mark.integration


def get(worker: Worker, path: str, **query: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(f"{worker.url}{path}?{urlencode(query)}", timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def row(worker: Worker, occupation: str) -> dict[str, Any] | None:
    status, answer = get(worker, "/figures/positions-per-seeker", by="occupation")
    assert status == 200, answer
    return next((item for item in answer["items"] if item["group"] == occupation), None)


def test_a_job_and_a_seeker_published_show_in_the_ratio_and_the_wages(
    worker: Worker, publish: Publisher
) -> None:
    # An occupation of this test's own: the session's other tests share the counters.
    occupation = f"测试工{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    shift = {
        "start": (now + timedelta(hours=2)).isoformat(),
        "end": (now + timedelta(hours=10)).isoformat(),
    }
    seeker = factory.seeker_registered(f"fig-seeker-{occupation}", occupations=[occupation])
    job = factory.job_posted(
        f"fig-job-{occupation}",
        occupation=occupation,
        headcount=3,
        wage={"amount": 30, "unit": "hour"},
        shift=shift,
    )
    publish.event(SEEKERS.name, {**seeker, "occurred_at": now.isoformat()})
    publish.event(JOBS.name, {**job, "occurred_at": now.isoformat()})

    # Polled for the whole row: the seeker and the job may be counted in two batches, and
    # the row shows up after the first of them.
    whole = {"group": occupation, "positions": 3, "seekers": 1, "ratio": 3.0}
    wait_for(lambda: row(worker, occupation) == whole, "3 ÷ 1")
    status, wages = get(worker, "/figures/wages", occupation=occupation)
    assert (status, wages["count"], wages["days"]) == (200, 1, 30)
    assert wages["p50"] == pytest.approx(30 * 8, rel=0.005)  # an hourly wage × 8 a day
    status, city = get(worker, "/figures/wages")
    assert status == 200 and city["occupation"] is None and city["count"] >= 1


def test_a_bad_parameter_gets_400_and_what_to_change(worker: Worker) -> None:
    status, answer = get(worker, "/figures/positions-per-seeker", by="occupation", window="year")
    assert status == 400
    assert answer == {"error": "window 'year' is not one of now, day, week, month"}
    status, answer = get(worker, "/figures/positions-per-seeker")
    assert status == 400 and answer["error"].startswith("by is missing")
