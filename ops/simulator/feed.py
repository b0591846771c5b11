"""A seeded, plausible stream of gig-market events for Zhenjiang, with its share of bad input.

The feed keeps a small model of the city (who is registered, which jobs are
open, who is checked in) so that its events refer to each other the way real
ones do: hires for open jobs, check-ins at real markets, updates of known
entities. Time is simulated: event i happens at start + i / events_per_second,
so a million events as fast as possible still span a plausible stretch of time.
"""

import math
import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

from ops.simulator.city import (
    DISTRICTS,
    GIVEN_NAMES,
    OCCUPATIONS,
    STATIONS_PER_DISTRICT,
    SURNAMES,
    TRAVEL_MODES,
    District,
)
from topics.catalog import APPLICATIONS, CHECKINS, JOBS, MARKETS, SEEKERS, Topic

SHANGHAI = timezone(timedelta(hours=8))
KM_PER_DEGREE = 111.32
MALFORMED_SHARE = 0.02
DUPLICATE_SHARE = 0.01
# A session every ~10,000 events, each posting hundreds of jobs in minutes.
LIVESTREAM_START_CHANCE = 0.0001
LIVESTREAM_JOBS = (200, 500)

# Relative weights of the event kinds once the city is seeded. A city of ~200k
# gig workers posts tens of thousands of jobs a year but sees thousands of
# check-ins and applications a day: jobs are a few percent of the stream
# (kept above the real ~1% so a fast-forwarded city keeps a job board).
MIX = {
    "seeker.registered": 4,
    "seeker.updated": 2,
    "seeker.withdrawn": 0.5,
    "job.posted": 3,
    "job.updated": 1,
    "job.closed": 1,
    "checkin": 30,
    "checkout": 20,
    "application.submitted": 12,
    "application.withdrawn": 2,
    "hire.confirmed": 3,
}
MORNING_CHECKIN_BOOST = 3  # 06:00-09:00 local: workers gather at the markets


@dataclass(frozen=True)
class Message:
    topic: str
    key: bytes | None
    value: bytes | None


@dataclass
class _Job:
    headcount: int
    hires: int = 0


class _Bag:
    """A set with O(1) add, discard and uniform random pick (a city has 100k seekers)."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.index: dict[str, int] = {}

    def __bool__(self) -> bool:
        return bool(self.items)

    def add(self, item: str) -> None:
        if item not in self.index:
            self.index[item] = len(self.items)
            self.items.append(item)

    def discard(self, item: str) -> None:
        position = self.index.pop(item, None)
        if position is None:
            return
        last = self.items.pop()
        if position < len(self.items):
            self.items[position] = last
            self.index[last] = position

    def pick(self, rng: random.Random) -> str:
        return self.items[rng.randrange(len(self.items))]


@dataclass
class _City:
    places: list[tuple[str, float, float]] = field(default_factory=list)
    seekers: _Bag = field(default_factory=_Bag)
    jobs: dict[str, _Job] = field(default_factory=dict)
    # Recent jobs get most of the attention, as on a real board.
    recent_jobs: deque[str] = field(default_factory=lambda: deque(maxlen=200))
    checked_in: _Bag = field(default_factory=_Bag)
    applications: dict[str, tuple[str, str]] = field(default_factory=dict)
    open_applications: _Bag = field(default_factory=_Bag)


class Feed:
    def __init__(self, seed: int, start: datetime, events_per_second: float) -> None:
        self.random = random.Random(seed)
        self.start = start
        self.step_s = 1.0 / events_per_second
        self.count = 0
        self.city = _City()
        self.recent: deque[Message] = deque(maxlen=1000)
        self.livestream: tuple[str, int] | None = None  # session id, jobs still to post
        self.corrected: Message | None = None
        self.next_id = 0

    def __iter__(self) -> Iterator[Message]:
        yield from self._markets()
        while True:
            yield self._next()

    def _next(self) -> Message:
        if self.corrected is not None:
            message, self.corrected = self.corrected, None
            return message
        roll = self.random.random()
        if roll < DUPLICATE_SHARE and self.recent:
            return self.random.choice(self.recent)
        message = self._event()
        self.recent.append(message)
        if roll < DUPLICATE_SHARE + MALFORMED_SHARE:
            # The source sends a broken copy first and the event right after,
            # as after a fixed bug: the city's model stays true to what applies.
            self.corrected = message
            return self._malformed(message)
        return message

    # --- time and ids -------------------------------------------------------------------

    def _now(self) -> datetime:
        return self.start + timedelta(seconds=self.count * self.step_s)

    def _id(self, prefix: str) -> str:
        self.next_id += 1
        return f"{prefix}-{self.next_id:08d}"

    def _emit(self, topic: Topic, event_type: str, data: dict[str, Any], source: str) -> Message:
        self.count += 1
        envelope = {
            "event_id": self._id("evt"),
            "type": event_type,
            "occurred_at": self._now().astimezone(SHANGHAI).isoformat(timespec="seconds"),
            "source": source,
            "data": data,
        }
        key = topic.key_of(data)
        return Message(topic.name, key.encode() if key else None, orjson.dumps(envelope))

    # --- the city -----------------------------------------------------------------------

    def _markets(self) -> Iterator[Message]:
        for district in DISTRICTS:
            market_id = f"market-{district.code}"
            yield self._place(market_id, f"{district.name}零工市场", "market", district, 0.0)
            for n in range(1, STATIONS_PER_DISTRICT + 1):
                station_id = f"station-{district.code}-{n}"
                name = f"{district.name}第{n}零工驿站"
                yield self._place(station_id, name, "station", district, district.spread_km)

    def _place(
        self, place_id: str, name: str, kind: str, district: District, spread_km: float
    ) -> Message:
        lat, lon = self._around(district, spread_km)
        self.city.places.append((place_id, lat, lon))
        data = {
            "market_id": place_id,
            "name": name,
            "kind": kind,
            "location": {"lat": lat, "lon": lon},
            "district": district.name,
            "services": ["求职登记", "技能培训"] if kind == "market" else ["求职登记"],
            "open_hours": "07:00-18:00",
        }
        return self._emit(MARKETS, "market.upserted", data, f"market:{place_id}")

    def _around(self, district: District, spread_km: float) -> tuple[float, float]:
        lat = district.lat + self.random.gauss(0, spread_km) / KM_PER_DEGREE
        lon_km = KM_PER_DEGREE * math.cos(math.radians(district.lat))
        lon = district.lon + self.random.gauss(0, spread_km) / lon_km
        return round(lat, 6), round(lon, 6)

    def _district(self) -> District:
        weights = [d.population_weight for d in DISTRICTS]
        return self.random.choices(DISTRICTS, weights)[0]

    def _source(self) -> str:
        district = self._district()
        return self.random.choice(
            [
                f"market:market-{district.code}",
                f"station:station-{district.code}-1",
                "online:jiuzai-zhenjiang",
                "online:jiuzai-jiangsu",
                "alipay",
            ]
        )

    # --- events -------------------------------------------------------------------------

    def _event(self) -> Message:
        if self.livestream is not None and self.random.random() < 0.5:
            return self._livestream_job()
        if self.livestream is None and self.random.random() < LIVESTREAM_START_CHANCE:
            self.livestream = (self._id("live"), self.random.randint(*LIVESTREAM_JOBS))
        kinds, weights = zip(*self._mix().items(), strict=True)
        kind = self.random.choices(kinds, weights)[0]
        return getattr(self, "_" + kind.replace(".", "_"))()

    def _mix(self) -> dict[str, float]:
        mix: dict[str, float] = dict(MIX)
        if not self.city.seekers:
            return {"seeker.registered": 1, "job.posted": 1}
        hour = self._now().astimezone(SHANGHAI).hour
        if 6 <= hour < 9:
            mix["checkin"] *= MORNING_CHECKIN_BOOST
        return mix

    def _seeker_registered(self) -> Message:
        seeker_id = self._id("seeker")
        district = self._district()
        lat, lon = self._around(district, district.spread_km)
        occupations = self.random.sample(OCCUPATIONS, self.random.choice((1, 1, 2, 3)))
        skills = sorted({s for o in occupations for s in o.skills if self.random.random() < 0.6})
        modes, weights = zip(*TRAVEL_MODES, strict=True)
        data = {
            "seeker_id": seeker_id,
            "occupations": [o.name for o in occupations],
            "skills": skills,
            "home": {"lat": lat, "lon": lon},
            "travel_mode": self.random.choices(modes, weights)[0],
            "phone": f"1{self.random.choice('3589')}{self.random.randrange(10**9):09d}",
            "name": self.random.choice(SURNAMES) + self.random.choice(GIVEN_NAMES),
            "min_wage": {"amount": round(occupations[0].daily_wage * 0.8), "unit": "day"},
            "available": [self._window(0, 72)],
            "push_opt_in": self.random.random() < 0.9,
        }
        self.city.seekers.add(seeker_id)
        return self._emit(SEEKERS, "seeker.registered", data, self._source())

    def _seeker_updated(self) -> Message:
        seeker_id = self.city.seekers.pick(self.random)
        data = {"seeker_id": seeker_id, "available": [self._window(0, 48)]}
        return self._emit(SEEKERS, "seeker.updated", data, self._source())

    def _seeker_withdrawn(self) -> Message:
        seeker_id = self.city.seekers.pick(self.random)
        self.city.seekers.discard(seeker_id)
        self.city.checked_in.discard(seeker_id)
        return self._emit(SEEKERS, "seeker.withdrawn", {"seeker_id": seeker_id}, self._source())

    def _job_posted(self, source: str | None = None) -> Message:
        job_id = self._id("job")
        district = self._district()
        occupation = self.random.choices(OCCUPATIONS, [o.share for o in OCCUPATIONS])[0]
        headcount = self.random.choice((1, 1, 1, 2, 2, 3, 5, 10))
        lat, lon = self._around(district, district.spread_km)
        data = {
            "job_id": job_id,
            "employer_id": f"employer-{self.random.randrange(5000):05d}",
            "title": f"{district.name}{occupation.name}",
            "occupation": occupation.name,
            "skills": list(self.random.sample(occupation.skills, 1)),
            "headcount": headcount,
            "wage": self._wage(occupation.daily_wage),
            "location": {"lat": lat, "lon": lon, "district": district.name},
            "shift": self._window(1, 36),
            "market_id": f"market-{district.code}",
        }
        self.city.jobs[job_id] = _Job(headcount)
        self.city.recent_jobs.append(job_id)
        return self._emit(JOBS, "job.posted", data, source or self._source())

    def _livestream_job(self) -> Message:
        assert self.livestream is not None
        session, remaining = self.livestream
        self.livestream = (session, remaining - 1) if remaining > 1 else None
        return self._job_posted(f"livestream:{session}")

    def _job_updated(self) -> Message:
        job_id = self._open_job()
        if job_id is None:
            return self._job_posted()
        job = self.city.jobs[job_id]
        job.headcount += 1
        data = {"job_id": job_id, "headcount": job.headcount}
        return self._emit(JOBS, "job.updated", data, self._source())

    def _job_closed(self) -> Message:
        job_id = self._open_job()
        if job_id is None:
            return self._job_posted()
        del self.city.jobs[job_id]
        data = {"job_id": job_id, "reason": self.random.choice(("cancelled", "expired"))}
        return self._emit(JOBS, "job.closed", data, self._source())

    def _checkin(self) -> Message:
        seeker_id = self.city.seekers.pick(self.random)
        self.city.checked_in.add(seeker_id)
        data: dict[str, Any] = {"seeker_id": seeker_id}
        if self.random.random() < 0.8:
            data["market_id"] = self.random.choice(self.city.places)[0]
        else:
            district = self._district()
            lat, lon = self._around(district, district.spread_km)
            data["location"] = {"lat": lat, "lon": lon}
        data["available_until"] = self._at(self.random.uniform(2, 10))
        return self._emit(CHECKINS, "checkin", data, self._source())

    def _checkout(self) -> Message:
        if not self.city.checked_in:
            return self._checkin()
        seeker_id = self.city.checked_in.pick(self.random)
        self.city.checked_in.discard(seeker_id)
        return self._emit(CHECKINS, "checkout", {"seeker_id": seeker_id}, self._source())

    def _application_submitted(self) -> Message:
        job_id = self._open_job()
        if job_id is None:
            return self._job_posted()
        application_id = self._id("app")
        seeker_id = self.city.seekers.pick(self.random)
        self.city.applications[application_id] = (job_id, seeker_id)
        self.city.open_applications.add(application_id)
        data = {"application_id": application_id, "job_id": job_id, "seeker_id": seeker_id}
        return self._emit(APPLICATIONS, "application.submitted", data, self._source())

    def _application_withdrawn(self) -> Message:
        if not self.city.open_applications:
            return self._application_submitted()
        application_id = self._take_application()
        job_id, _ = self.city.applications.pop(application_id)
        data = {"application_id": application_id, "job_id": job_id}
        return self._emit(APPLICATIONS, "application.withdrawn", data, self._source())

    def _hire_confirmed(self) -> Message:
        if not self.city.open_applications:
            return self._application_submitted()
        application_id = self._take_application()
        job_id, seeker_id = self.city.applications.pop(application_id)
        job = self.city.jobs.get(job_id)
        if job is not None:
            job.hires += 1
            if job.hires >= job.headcount:
                del self.city.jobs[job_id]
        data = {"job_id": job_id, "seeker_id": seeker_id}
        return self._emit(APPLICATIONS, "hire.confirmed", data, self._source())

    # --- helpers ------------------------------------------------------------------------

    def _take_application(self) -> str:
        application_id = self.city.open_applications.pick(self.random)
        self.city.open_applications.discard(application_id)
        return application_id

    def _open_job(self) -> str | None:
        if not self.city.recent_jobs:
            return None
        job_id = self.random.choice(self.city.recent_jobs)
        return job_id if job_id in self.city.jobs else None

    def _wage(self, daily: float) -> dict[str, Any]:
        amount = daily * math.exp(self.random.gauss(0, 0.15))
        unit = self.random.choices(("day", "hour", "month"), (0.7, 0.2, 0.1))[0]
        if unit == "hour":
            return {"amount": round(amount / 8, 1), "unit": "hour"}
        if unit == "month":
            return {"amount": round(amount * 21.75), "unit": "month"}
        return {"amount": round(amount), "unit": "day"}

    def _at(self, hours_ahead: float) -> str:
        return (self._now() + timedelta(hours=hours_ahead)).isoformat(timespec="seconds")

    def _window(self, min_hours: float, max_hours: float) -> dict[str, str]:
        start = self.random.uniform(min_hours, max_hours)
        return {"start": self._at(start), "end": self._at(start + self.random.uniform(4, 10))}

    # --- bad input ----------------------------------------------------------------------

    def _malformed(self, message: Message) -> Message:
        assert message.value is not None
        kind = self.random.randrange(8)
        value: bytes | None = message.value
        key = message.key
        if kind == 0:
            value = message.value[: len(message.value) // 2]
        elif kind == 1:
            value = b"\xff\xfe" + message.value
        elif kind == 2:
            value = b""
        elif kind == 3:
            key = b"wrong-key"
        else:
            value = orjson.dumps(self._broken(orjson.loads(message.value), kind))
        return Message(message.topic, key, value)

    def _broken(self, event: dict[str, Any], kind: int) -> dict[str, Any]:
        data = event["data"]
        if kind == 4:
            event["type"] = "job.deleted"
        elif kind == 5:
            event["occurred_at"] = "yesterday"
        elif kind == 6 and "location" in data:
            data["location"] = {"lat": 95.0, "lon": 119.4}
        else:
            data.pop(next(iter(data)))
        return event
