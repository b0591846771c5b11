"""Match requests: which applied events of a batch ask for matching, once per entity."""

from typing import Any

from processors.ledger import Applied, World, apply_batch, refs_of, unloaded_refs
from streams import requests
from tests import factory
from tests.processors.test_ledger import RULES, fresh, incoming


def apply(world: World, *events: dict[str, Any]) -> list[Applied]:
    """Applies events as one batch to a world holding every ref they touch."""
    batch = [incoming(event) for event in events]
    for ref in refs_of(i.event for i in batch) | unloaded_refs(world):
        world.states.setdefault(ref, None)
    return apply_batch(world, batch, RULES)


def test_a_batch_asks_once_per_job_or_seeker_whose_matches_may_have_changed() -> None:
    applied = apply(
        fresh(),
        factory.job_posted("J1", 0),
        factory.job_updated("J1", 1, title="夜班"),
        factory.seeker_registered("S1", 0),
        factory.checkin("S1", 1, location={"lat": 32.2, "lon": 119.4}),
        factory.job_closed("J1", 2),  # no request: a closed job matches no one
        factory.seeker_updated("S2", 0, skills=[]),  # pending, not applied: no request
    )
    assert requests.requests_of(applied) == [
        {"kind": "job", "id": "J1"},
        {"kind": "seeker", "id": "S1"},
    ]


def test_duplicates_and_stale_updates_ask_for_nothing() -> None:
    world = fresh()
    posted = factory.job_posted("J1", 5)
    apply(world, posted)
    world.seen.update(world.new_seen)
    again = apply(world, posted, factory.job_updated("J1", 1, title="旧"))
    assert requests.requests_of(again) == []


def test_a_widening_request_parses_back() -> None:
    fields = [*requests.WIDENING_UP_TO_ID, "J1"]
    pairs = zip(fields[::2], fields[1::2], strict=True)
    entry = {name.encode(): value.encode() for name, value in pairs}
    assert requests.parse(entry) == ("job", "J1", True)
