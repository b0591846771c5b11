"""A real Prometheus (Debian's package) scrapes a running worker, matcher, circle and notify,
and every PromQL expression of the Grafana dashboards returns a series through its HTTP API.

Its configuration is ops/prometheus.yml (the one docker compose runs) with each job's
service discovery replaced by the test's processes, so the jobs the dashboards select are
the ones deployed; it scrapes every second.
"""

import json
import re
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
import yaml

from ops.offsets import commit_group, end_offsets
from ops.settings import redis_database
from ops.stack import ensure_debian_package
from streams import keys
from tests import factory
from tests.integration.conftest import (
    ROOT,
    Publisher,
    Worker,
    clear_spot,
    free_port,
    start,
    stop,
    wait_for,
)
from topics.catalog import (
    APPLICATIONS,
    CHECKINS,
    INPUT_TOPICS,
    JOBS,
    MARKETS,
    NOTIFICATIONS,
    SEEKERS,
)

pytestmark = pytest.mark.integration

COMPOSE_CONFIG = ROOT / "ops" / "prometheus.yml"
DASHBOARDS = ROOT / "ops" / "grafana" / "dashboards"
# The test's own city stands here, clear of every other test's.
REGION = ((35.0, 38.0), (100.0, 106.0))
CLEAR_KM = 20.0
# Grafana's own variables, as Grafana sets them for a short time range.
GRAFANA_VARIABLES = {"__rate_interval": "1m", "__interval": "15s", "__range": "15m"}
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")


@pytest.fixture(scope="module")
def notify(worker_env: dict[str, str], tmp_path_factory: Any) -> Iterator[Worker]:
    """A notify process of a group of its own from gig.notifications' end, its Redis db 4."""
    port = free_port()
    env = {
        **worker_env,
        "GIGSTREAM_APP_ID": f"{worker_env['GIGSTREAM_APP_ID']}-prometheus",
        "GIGSTREAM_REDIS_URL": redis_database(worker_env["GIGSTREAM_REDIS_URL"], 4),
        "GIGSTREAM_NOTIFY_METRICS_PORT": str(port),
        "GIGSTREAM_NOTIFY_SENDER": "log",
    }
    bootstrap = env["GIGSTREAM_KAFKA_BOOTSTRAP"]
    group = f"{env['GIGSTREAM_APP_ID']}-notify"
    commit_group(bootstrap, group, end_offsets(bootstrap, [NOTIFICATIONS.name]))
    yield from start("notify", env, tmp_path_factory.mktemp("notify"), f"http://127.0.0.1:{port}")


@pytest.fixture(scope="module")
def prometheus(
    worker: Worker, matcher: Worker, circle: Worker, notify: Worker, tmp_path_factory: Any
) -> Iterator[str]:
    """Prometheus on a free port scraping the four processes; its base URL."""
    ensure_debian_package("prometheus", "prometheus")
    home = tmp_path_factory.mktemp("prometheus")
    targets = {
        "gigstream-worker": worker,
        "gigstream-matcher": matcher,
        "gigstream-circle": circle,
        "gigstream-notify": notify,
    }
    (home / "prometheus.yml").write_text(json.dumps(scraping(targets)))
    port = free_port()
    with (home / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={home / 'prometheus.yml'}",
                f"--storage.tsdb.path={home / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: process.poll() is not None or ready(url), "Prometheus ready")
        assert process.poll() is None, (home / "prometheus.log").read_text()[-3000:]
        yield url
    finally:
        stop(process)


def scraping(targets: dict[str, Worker]) -> dict[str, Any]:
    """ops/prometheus.yml with each job's discovery replaced by its process, scraped each second."""
    config = yaml.safe_load(COMPOSE_CONFIG.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs.keys() == targets.keys(), "ops/prometheus.yml scrapes other jobs than the four"
    for name, job in jobs.items():
        job.pop("dns_sd_configs")
        job["static_configs"] = [{"targets": [urllib.parse.urlsplit(targets[name].url).netloc]}]
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    return dict(config)


def ready(url: str) -> bool:
    try:
        return bool(urllib.request.urlopen(f"{url}/-/ready", timeout=2).status == 200)
    except OSError:
        return False


def api(url: str, path: str, **params: str) -> Any:
    query = urllib.parse.urlencode(params)
    with urllib.request.urlopen(f"{url}/api/v1/{path}?{query}", timeout=10) as response:
        answer = json.load(response)
    assert answer["status"] == "success", answer
    return answer["data"]


def series(url: str, expr: str) -> list[dict[str, Any]]:
    return list(api(url, "query", query=expr)["result"])


def targets_up(url: str) -> set[str]:
    """The jobs of the targets Prometheus scraped successfully."""
    active = api(url, "targets", state="active")["activeTargets"]
    return {target["labels"]["job"] for target in active if target["health"] == "up"}


def expressions() -> dict[str, str]:
    """Every target's PromQL of every dashboard, its variables set; keyed by where it is."""
    found: dict[str, str] = {}
    for path in sorted(DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text())
        values = {**GRAFANA_VARIABLES, **variables(dashboard)}
        for panel in panels(dashboard.get("panels", [])):
            for target in panel.get("targets", []):
                if "expr" in target:
                    where = f"{path.name}: {panel['title']} {target['refId']}"
                    found[where] = substitute(target["expr"], values, where)
    return found


def panels(listed: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every panel, those inside collapsed rows too."""
    for panel in listed:
        yield panel
        yield from panels(panel.get("panels", []))


def variables(dashboard: dict[str, Any]) -> dict[str, str]:
    """A dashboard's template variables at their current value, "all" as any value."""
    values = {}
    for variable in dashboard.get("templating", {}).get("list", []):
        current = variable.get("current", {}).get("value", "$__all")
        chosen = current if isinstance(current, list) else [current]
        values[variable["name"]] = ".*" if "$__all" in chosen else "|".join(chosen)
    return values


def substitute(expr: str, values: dict[str, str], where: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        assert name in values, f"{where}: unknown variable {name!r} in {expr}"
        return values[name]

    return VARIABLE.sub(value, expr)


def publish_traffic(publish: Publisher, db: redis.Redis) -> dict[str, str]:
    """A market, a seeker near it who checks in, a job for them (a match and a push follow),
    a job of a live-stream session the seeker is hired into, and a malformed message, all
    happening now: every figure of today has a series. Returns the ids and personal data
    published, which no label may carry."""
    run = uuid.uuid4().hex[:8]
    centre = clear_spot(db, run, REGION, (keys.GEO_JOBS, keys.GEO_SEEKERS), CLEAR_KM)
    now = datetime.now(UTC)
    shift = {
        "start": (now + timedelta(hours=2)).isoformat(),
        "end": (now + timedelta(hours=10)).isoformat(),
    }
    seeker, job, hired_into = f"prom-seeker-{run}", f"prom-job-{run}", f"prom-hired-{run}"
    market, session = f"prom-market-{run}", f"livestream:prom-live-{run}"
    home = {"lat": centre.lat + 0.004, "lon": centre.lon}
    location = {"lat": centre.lat, "lon": centre.lon, "district": "京口区"}
    place = {"lat": centre.lat + 0.003, "lon": centre.lon}
    events = [
        (MARKETS.name, factory.market_upserted(market, location=place)),
        (
            SEEKERS.name,
            factory.seeker_registered(seeker, home=home, phone="13900001234", name="李四"),
        ),
        (JOBS.name, factory.job_posted(job, location=location, shift=shift)),
        (
            JOBS.name,
            {
                **factory.job_posted(hired_into, location=location, shift=shift, headcount=1),
                "source": session,
            },
        ),
        (CHECKINS.name, factory.checkin(seeker, market_id=market)),
        (APPLICATIONS.name, factory.application_submitted(f"prom-app-{run}", hired_into, seeker)),
        (APPLICATIONS.name, factory.hire_confirmed(hired_into, seeker)),
    ]
    for topic, event in events:
        publish.event(topic, {**event, "occurred_at": now.isoformat()})
    publish.raw(JOBS.name, job.encode(), b"{not json")
    return {"seeker": seeker, "job": job, "phone": "13900001234", "name": "李四"}


def test_every_dashboard_expression_returns_a_series_from_the_scraped_processes(
    prometheus: str, publish: Publisher, db: redis.Redis
) -> None:
    wanted = expressions()
    assert wanted, f"no PromQL in {DASHBOARDS}"
    publish_traffic(publish, db)
    jobs = {"gigstream-worker", "gigstream-matcher", "gigstream-circle", "gigstream-notify"}
    wait_for(lambda: targets_up(prometheus) == jobs, "every process scraped")

    unanswered = dict(wanted)
    end = time.monotonic() + 60
    while unanswered and time.monotonic() < end:
        unanswered = {where: e for where, e in unanswered.items() if not series(prometheus, e)}
        time.sleep(0.2)
    assert not unanswered, "no series within 60 s for:\n" + "\n".join(
        f"  {where}: {expr}" for where, expr in unanswered.items()
    )


def test_the_lag_of_every_input_topic_and_the_request_backlog_are_scraped(
    prometheus: str, publish: Publisher, db: redis.Redis
) -> None:
    publish_traffic(publish, db)

    def topics_with_lag(job: str) -> set[str]:
        found = series(prometheus, f'gigstream_consumer_lag{{job="{job}"}}')
        return {one["metric"]["topic"] for one in found}

    inputs = {topic.name for topic in INPUT_TOPICS}
    wait_for(lambda: topics_with_lag("gigstream-worker") == inputs, "the lag of every input")
    wait_for(lambda: topics_with_lag("gigstream-notify") == {NOTIFICATIONS.name}, "notify's lag")
    backlog = 'gigstream_match_requests_backlog{job="gigstream-matcher"}'
    wait_for(
        lambda: (
            {one["metric"]["state"] for one in series(prometheus, backlog)} == {"waiting", "taken"}
        ),
        "the matchers' backlog by state",
    )
    rejected = (
        f'gigstream_events_total{{job="gigstream-worker",topic="{JOBS.name}",outcome="rejected"}}'
    )
    wait_for(
        lambda: any(float(one["value"][1]) >= 1 for one in series(prometheus, rejected)),
        "the malformed message counted as rejected",
    )


def test_no_label_of_any_series_carries_an_id_or_personal_data(
    prometheus: str, publish: Publisher, db: redis.Redis
) -> None:
    published = publish_traffic(publish, db)
    done = 'gigstream_match_requests_total{job="gigstream-matcher",outcome="done"}'
    wait_for(
        lambda: sum(float(one["value"][1]) for one in series(prometheus, done)) >= 1,
        "a match request handled",
    )
    labels = series(prometheus, '{__name__=~"gigstream_.+"}')
    leaked = [
        one["metric"]
        for one in labels
        if any(secret in value for value in one["metric"].values() for secret in published.values())
    ]
    assert not leaked


def test_the_compose_prometheus_config_is_valid() -> None:
    ensure_debian_package("promtool", "prometheus")
    checked = subprocess.run(
        ["promtool", "check", "config", str(COMPOSE_CONFIG)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_variable_is_set_to_its_current_value_and_all_is_any_value() -> None:
    dashboard = {
        "templating": {
            "list": [
                {"name": "topic", "current": {"value": ["gig.jobs", "gig.seekers"]}},
                {"name": "job", "current": {"value": "$__all"}},
            ]
        }
    }
    values = {**GRAFANA_VARIABLES, **variables(dashboard)}
    expr = 'rate(x{topic=~"$topic",job=~"${job}"}[$__rate_interval])'
    assert (
        substitute(expr, values, "test") == 'rate(x{topic=~"gig.jobs|gig.seekers",job=~".*"}[1m])'
    )
