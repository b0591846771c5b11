"""The Faust worker: the agent applying the input topics, the expiry sweep, HTTP and /metrics.

Agents keep concurrency 1 (faust-streaming #606 lost messages with more) and
take batches; offsets are acknowledged only after a batch's state is written
and its dead letters are delivered (at-least-once, made exactly-once in
effect by the event_id markers and last-writer-wins in streams.store).
"""

import logging
from datetime import UTC, datetime
from typing import Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ops.settings import settings
from processors.outcome import Outcome
from streams import circle_views, figure_metrics, figure_views, lag, match_views
from streams.faust_app import INPUT_NAMES, batches, faust_app, input_topic, run
from streams.match_worker import rules_of
from streams.metrics import DEADLETTERS, EVENTS, INTERNAL_ERRORS, LATE_EVENTS
from streams.pipeline import Pipeline
from streams.rejections import Reason
from streams.replay import store_of
from topics.catalog import DEADLETTER
from topics.fields import epoch_ms

log = logging.getLogger(__name__)
cfg = settings()
app = faust_app(cfg)

store = store_of(cfg)
deadletters = app.topic(DEADLETTER.name, key_serializer="raw", value_serializer="raw")


async def send_deadletter(key: bytes | None, value: bytes) -> Any:
    return await deadletters.send(key=key, value=value)


pipeline = Pipeline(store, send_deadletter)


inputs = input_topic(app)


# One agent for all five input topics: larger batches, and no two agents of a
# worker racing for the same job (gig.jobs and gig.applications both touch it).
@app.agent(inputs, name="apply-inputs")
async def apply_inputs(stream: faust.StreamT[bytes]) -> None:
    async for events in batches(stream, cfg):
        await pipeline.process([event.message for event in events])


@app.timer(cfg.sweep_interval_s)
async def sweep() -> None:
    """Close what the clock closed: expired jobs and check-ins, referents that never came,
    and the figures that changed with time alone."""
    try:
        now = datetime.now(UTC)
        now_ms = epoch_ms(now)
        await store.sweep_expired(now_ms)
        await store.recount_due(now_ms)
        await pipeline.expire_pending(now)
    except Exception:
        log.exception("sweep failed; the next tick retries")


@app.timer(cfg.lag_interval_s)
async def measure_lag() -> None:
    """gigstream_consumer_lag of the input topics, from the broker's end offsets."""
    try:
        lag.export(await lag.faust_lag(app.consumer, INPUT_NAMES))
    except Exception as error:
        log.warning("measuring the consumer lag failed (%r); the next tick retries", error)


# Every topic's outcomes and errors exported from the start, at 0: a rate() has a series
# before the first message of its kind, and a panel draws a flat line rather than nothing.
for _name in INPUT_NAMES:
    INTERNAL_ERRORS.labels(_name)
    for _outcome in Outcome:
        EVENTS.labels(_name, _outcome)
        LATE_EVENTS.labels(_name, _outcome)
    for _reason in Reason:
        DEADLETTERS.labels(_name, _reason)


@app.page("/metrics")
async def metrics(web: Any, request: Any) -> Any:
    # Rendered on the loop, not in a thread: figure_metrics.export clears and sets its
    # gauges on the loop with nothing awaited between, so a scrape sees one refresh whole.
    # aiohttp refuses a charset inside content_type, so the header is set whole.
    return web.bytes(generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


circle_views.register(app, store.redis, cfg.travel_model())
match_views.register(app, store.redis, rules_of(cfg), cfg.tokens())
figure_views.register(app, store.redis)
figure_metrics.register(app, store.redis, cfg.figures_interval_s)


def run_worker() -> None:
    run(app, cfg)
