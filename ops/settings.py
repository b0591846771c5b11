"""All configuration, read once from GIGSTREAM_* environment variables.

The defaults run the whole system on one laptop against the local stack.
"""

from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from processors.dispatch import DispatchRules
from processors.matching import Weights
from processors.travel import DEFAULT_SPEEDS, TravelModel
from topics.fields import TravelMode

DAY_SECONDS = 86_400
_TRAVEL = TravelModel()
_WEIGHTS = Weights()
_DISPATCH = DispatchRules()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GIGSTREAM_", frozen=True)

    kafka_bootstrap: str = "127.0.0.1:9092"
    # "scram": every client logs in with SASL/SCRAM-SHA-512 as its principal (ops.kafka_auth)
    # and `gigstream stack up` starts the broker with authentication and ACLs.
    kafka_sasl: Literal["off", "scram"] = "off"
    # Each principal's password; one not set is read from <stack_dir>/kafka/credentials.json,
    # where `gigstream stack up` generates the local stack's.
    kafka_admin_password: SecretStr | None = None
    kafka_gigstream_password: SecretStr | None = None
    kafka_publisher_password: SecretStr | None = None
    redis_url: str = "redis://127.0.0.1:6379/0"
    # The Faust app id is also the Kafka consumer group of the workers.
    app_id: str = "gigstream"
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    # Bearer tokens for the seeker- and job-specific HTTP answers, comma-separated;
    # none configured: those answers are refused (city-wide ones stay public).
    api_tokens: str = Field("", repr=False)
    log_level: str = "info"

    topic_partitions: int = Field(6, ge=1)
    # Compaction never removes a superseded record younger than this, so a
    # rebuild within the window sees every event of an entity.
    compaction_lag_s: int = Field(7 * DAY_SECONDS, ge=0)

    # The worker's producer gathers records this long into one request per
    # partition: matches and pushes come dozens at a time, and one produce request
    # each cost a fifth of the worker's time.
    producer_linger_s: float = Field(0.005, ge=0)
    batch_max: int = Field(500, ge=1)
    batch_within_s: float = Field(0.05, gt=0)
    sweep_interval_s: float = Field(1.0, gt=0)
    # How often the worker measures its consumer lag and a matcher the request backlog
    # (gigstream_consumer_lag, gigstream_match_requests_backlog): each is a round trip.
    lag_interval_s: float = Field(5.0, gt=0)
    # How often each worker reads the figures' counters and sets their gauges
    # (streams.figure_metrics): one round trip of some sixty hashes, and about a second
    # of CPU for a city's hundred thousand counters.
    figures_interval_s: float = Field(15.0, gt=0)

    # event_id markers outlive any plausible replay window (consumer lag,
    # a restored offset, a producer retry storm).
    seen_retention_s: int = Field(7 * DAY_SECONDS, ge=60)
    # An event waiting for its referent (a hire for a job not yet posted) is
    # dead-lettered when the referent has not arrived after this long.
    pending_retention_s: int = Field(7 * DAY_SECONDS, ge=60)

    # A check-in without available_until ends after this, so a forgotten
    # checkout does not keep a seeker "present" for ever.
    checkin_stay_s: int = Field(8 * 3600, ge=60)

    max_message_bytes: int = Field(64 * 1024, ge=1024)
    # occurred_at further in the future than this is rejected: it would win
    # every last-writer-wins comparison until that time comes.
    max_future_skew_s: int = Field(DAY_SECONDS, ge=0)

    # The notification consumer (`gigstream notify`, consumer group "<app_id>-notify"):
    # "log" writes one line per push (the demo), "webhook" POSTs it to notify_webhook_url.
    notify_sender: Literal["log", "webhook"] = "log"
    notify_webhook_url: str | None = None
    notify_timeout_s: float = Field(5.0, gt=0)  # per request
    # Retries after a failed attempt (connection error, timeout, 5xx, 429), each waiting
    # twice as long as the one before; a push still not taken is held and tried again later.
    notify_retries: int = Field(4, ge=0)
    notify_backoff_s: float = Field(0.5, ge=0)
    # Delivered markers outlive any plausible replay of gig.notifications (a lagging
    # group, a restored offset), so no push is sent twice.
    notify_delivered_ttl_s: int = Field(30 * DAY_SECONDS, ge=60)
    # The longest wait for new records before the held pushes are looked at again.
    notify_poll_s: float = Field(1.0, gt=0)
    notify_metrics_port: int = 6067

    stack_dir: Path = Path(".stack")
    kafka_heap: str = "512m"

    # The travel model of the 15-minute circle (EVENTS.md): minutes are the
    # great-circle distance times the street detour factor over the mode's speed.
    detour_factor: float = Field(_TRAVEL.detour_factor, gt=0)
    walk_kmh: float = Field(DEFAULT_SPEEDS["walk"], gt=0)
    bike_kmh: float = Field(DEFAULT_SPEEDS["bike"], gt=0)
    ebike_kmh: float = Field(DEFAULT_SPEEDS["ebike"], gt=0)
    transit_kmh: float = Field(DEFAULT_SPEEDS["transit"], gt=0)
    car_kmh: float = Field(DEFAULT_SPEEDS["car"], gt=0)
    circle_minutes: float = Field(_TRAVEL.circle_minutes, gt=0)

    # Matching (processors.matching, processors.dispatch): the score's weights,
    # how many matches each request sends, and the push dispatch's restraint.
    match_weight_skills: float = Field(_WEIGHTS.skills, ge=0)
    match_weight_travel: float = Field(_WEIGHTS.travel, ge=0)
    match_weight_wage: float = Field(_WEIGHTS.wage, ge=0)
    match_weight_soon: float = Field(_WEIGHTS.soon, ge=0)
    matcher_metrics_port: int = 6068  # each `gigstream matcher` serves /metrics here
    circle_port: int = 6069  # `gigstream circle`: /circle/coverage, /circle/gaps, /metrics
    # The best station sites exported as gauges (gigstream_circle_gap_*), this often.
    circle_gaps_k: int = Field(5, ge=1, le=50)
    circle_gaps_every_s: float = Field(60.0, gt=0)
    match_top_seekers: int = Field(20, ge=1, le=1000)
    match_top_jobs: int = Field(10, ge=1, le=1000)
    push_per_position: int = Field(_DISPATCH.per_position, ge=1)
    push_max_tiers: int = Field(_DISPATCH.max_tiers, ge=1)
    push_tier_delay_s: float = Field(_DISPATCH.tier_delay_s, gt=0)
    push_per_hour: int = Field(_DISPATCH.pushes_per_hour, ge=1)
    # Beijing time; no push goes out from quiet_from until quiet_until.
    push_quiet_from: time = _DISPATCH.quiet_from
    push_quiet_until: time = _DISPATCH.quiet_until
    push_channel: str = _DISPATCH.channel

    @model_validator(mode="after")
    def _webhook_has_url(self) -> Self:
        if self.notify_sender == "webhook" and not self.notify_webhook_url:
            raise ValueError("GIGSTREAM_NOTIFY_WEBHOOK_URL is required for the webhook sender")
        return self

    def tokens(self) -> tuple[str, ...]:
        return tuple(token.strip() for token in self.api_tokens.split(",") if token.strip())

    def match_weights(self) -> Weights:
        return Weights(
            self.match_weight_skills,
            self.match_weight_travel,
            self.match_weight_wage,
            self.match_weight_soon,
        )

    def dispatch_rules(self) -> DispatchRules:
        return DispatchRules(
            self.push_per_position,
            self.push_max_tiers,
            self.push_tier_delay_s,
            self.push_per_hour,
            self.push_quiet_from,
            self.push_quiet_until,
            self.push_channel,
        )

    def travel_model(self) -> TravelModel:
        speeds: dict[TravelMode, float] = {
            "walk": self.walk_kmh,
            "bike": self.bike_kmh,
            "ebike": self.ebike_kmh,
            "transit": self.transit_kmh,
            "car": self.car_kmh,
        }
        return TravelModel(self.detour_factor, speeds, self.circle_minutes)


def redis_database(redis_url: str, db: int) -> str:
    """The same Redis server's database `db`: tests and benchmarks each keep to one of their own."""
    return f"{redis_url.rsplit('/', 1)[0]}/{db}"


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings()
