"""The global indexes, cards and change feed that follow each entity's new state.

Written into the batch's plan (streams.plan) beside the state itself: the geo
sets, the deadline sets, the per-occupation indexes, the matching cards and
the circle's change feed.
"""

from collections.abc import Sequence
from typing import Any

import msgspec
import orjson

from processors import applications, cards, checkins, jobs, markets, seekers
from processors.ledger import APPLICATION, CHECKIN, JOB, MARKET, SEEKER, Ref
from streams import changes, keys
from streams.plan import Plan

# The occupation indexes an entity is in (a JSON list), so that a later write
# or the expiry sweep can take it out of exactly those.
INDEXED = "_in"
# The hash of each kind's matching cards (processors.cards), written only when a
# card changed: the same card would change no match.
CARDS = {JOB: keys.JOB_CARDS, SEEKER: keys.SEEKER_CARDS, CHECKIN: keys.CHECKIN_CARDS}


def write_index(tx: Plan, ref: Ref, state: Any, now_ms: int, indexed: Sequence[str] = ()) -> None:
    """Keep the global indexes in step with one entity's new state.

    indexed: the occupation indexes the entity was in before this write.
    """
    if ref.kind == JOB:
        _index_job(tx, ref.id, state, now_ms)
        _index_occupations(
            tx, ref, state.job.location, occupation_indexes(ref, state, now_ms), indexed
        )
    elif ref.kind == SEEKER:
        _place(tx, keys.GEO_SEEKERS, ref.id, state.profile.home, seekers.is_active(state))
        _tell(tx, changes.seeker_change(ref.id, state))
        _index_occupations(
            tx, ref, state.profile.home, occupation_indexes(ref, state, now_ms), indexed
        )
    elif ref.kind == CHECKIN:
        present = checkins.is_present(state, now_ms)
        _place(tx, keys.GEO_CHECKINS, ref.id, state.place, present)
        due(tx, keys.DUE_CHECKINS, ref.id, state.until_ms, present)
    elif ref.kind == MARKET:
        _index_market(tx, ref.id, state)
    elif ref.kind == APPLICATION:
        _index_application(tx, ref.id, state)


def occupation_indexes(ref: Ref, state: Any, now_ms: int) -> list[str]:
    """The per-occupation geo indexes an open job or an active seeker belongs in."""
    if ref.kind == JOB:
        return [keys.jobs_of(state.job.occupation)] if jobs.is_open(state, now_ms) else []
    if ref.kind == SEEKER and seekers.is_active(state):
        mode = state.profile.travel_mode
        return [
            keys.seekers_of(occupation, mode)
            for occupation in dict.fromkeys(state.profile.occupations)
        ]
    return []


def _index_occupations(
    tx: Plan, ref: Ref, point: Any, now: list[str], before: Sequence[str]
) -> None:
    for index in set(before) - set(now):
        tx.zrem(index, ref.id)
    for index in now:
        tx.geoadd(index, (point.lon, point.lat, ref.id))
    # Left out when empty, as the sweep leaves it: a state reads the same however
    # its events were batched (a rebuild compares them).
    if now:
        tx.hset(keys.state(ref), {INDEXED: orjson.dumps(now).decode()})
    elif before:
        tx.hdel(keys.state(ref), INDEXED)


def _index_job(tx: Plan, job_id: str, state: jobs.JobState, now_ms: int) -> None:
    is_open = jobs.is_open(state, now_ms)
    _place(tx, keys.GEO_JOBS, job_id, state.job.location, is_open)
    due(tx, keys.DUE_JOBS, job_id, jobs.deadline_ms(state), is_open)
    _tell(tx, changes.job_change(job_id, state, now_ms))


def _index_market(tx: Plan, market_id: str, state: markets.MarketState) -> None:
    active = markets.is_active(state)
    is_station = state.market.kind == "station"
    _place(tx, keys.GEO_STATIONS, market_id, state.market.location, active and is_station)
    _place(tx, keys.GEO_MARKETS, market_id, state.market.location, active and not is_station)
    tx.hset(keys.PLACE_DISTRICTS, {market_id: state.market.district})
    _tell(tx, changes.place_change(market_id, state))


def _index_application(tx: Plan, application_id: str, state: applications.ApplicationState) -> None:
    key = keys.job_applications(state.job_id)
    if state.withdrawn:
        tx.srem(key, application_id)
    else:
        tx.sadd(key, application_id)


def card_blob(ref: Ref, state: Any, now_ms: int) -> str | None:
    """The entity's matching card (processors.cards) as stored, or None when it has none."""
    if state is None:
        return None
    card: msgspec.Struct | None = None
    if ref.kind == JOB:
        card = cards.job_card(state, now_ms)
    elif ref.kind == SEEKER:
        card = cards.seeker_card(state)
    elif ref.kind == CHECKIN:
        card = cards.checkin_card(state, now_ms)
    return None if card is None else msgspec.json.encode(card).decode()


def write_card(tx: Plan, hash_key: str, member: str, blob: str | None) -> None:
    if blob is None:
        tx.hdel(hash_key, member)
    else:
        tx.hset(hash_key, {member: blob})


def _tell(tx: Plan, change: dict[str, str]) -> None:
    tx.xadd(keys.CHANGES, change, changes.MAXLEN)


def _place(tx: Plan, geo: str, member: str, point: Any, present: bool) -> None:
    if present and point is not None:
        tx.geoadd(geo, (point.lon, point.lat, member))
    else:
        tx.zrem(geo, member)


def due(tx: Plan, due: str, member: str, at_ms: int | None, present: bool) -> None:
    if present and at_ms is not None:
        tx.zadd(due, {member: at_ms})
    else:
        tx.zrem(due, member)
