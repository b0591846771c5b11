"""All configuration, read once from GIGSTREAM_* environment variables.

The defaults run the whole system on one laptop against the local stack.
"""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from processors.travel import DEFAULT_SPEEDS, TravelModel
from topics.fields import TravelMode

DAY_SECONDS = 86_400
_TRAVEL = TravelModel()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GIGSTREAM_", frozen=True)

    kafka_bootstrap: str = "127.0.0.1:9092"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # The Faust app id is also the Kafka consumer group of the workers.
    app_id: str = "gigstream"
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    log_level: str = "info"

    topic_partitions: int = Field(6, ge=1)
    # Compaction never removes a superseded record younger than this, so a
    # rebuild within the window sees every event of an entity.
    compaction_lag_s: int = Field(7 * DAY_SECONDS, ge=0)

    batch_max: int = Field(500, ge=1)
    batch_within_s: float = Field(0.05, gt=0)
    sweep_interval_s: float = Field(1.0, gt=0)

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

    def travel_model(self) -> TravelModel:
        speeds: dict[TravelMode, float] = {
            "walk": self.walk_kmh,
            "bike": self.bike_kmh,
            "ebike": self.ebike_kmh,
            "transit": self.transit_kmh,
            "car": self.car_kmh,
        }
        return TravelModel(self.detour_factor, speeds, self.circle_minutes)


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings()
