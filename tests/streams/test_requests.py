"""Match requests: which applied events of a batch ask for matching, once per entity."""

from typing import Any

from processors.ledger import World, apply_batch, refs_of, unloaded_refs
from streams import requests
from streams.indexes import card_blob
from tests import factory
from tests.processors.test_ledger import NOW, RULES, fresh, incoming

NOW_MS = int(NOW.timestamp() * 1000)


def asked(world: World, *events: dict[str, Any]) -> list[dict[str, str]]:
    """The requests of one batch, applied to a world holding every ref it touches."""
    batch = [incoming(event) for event in events]
    for ref in refs_of(i.event for i in batch) | unloaded_refs(world):
        world.states.setdefault(ref, None)
    before = {ref: card_blob(ref, state, NOW_MS) for ref, state in world.states.items()}
    applied = apply_batch(world, batch, RULES)
    changed = {r for r in world.changed if card_blob(r, world.states[r], NOW_MS) != before[r]}
    world.seen.update(world.new_seen)
    return requests.requests_of(applied, changed)


def test_a_batch_asks_once_per_job_or_seeker_whose_matches_may_have_changed() -> None:
    assert asked(
        fresh(),
        factory.job_posted("J1", 0, shift={"start": factory.at(120), "end": factory.at(600)}),
        factory.job_updated("J1", 1, title="夜班"),
        factory.seeker_registered("S1", 0),
        factory.checkin("S1", 1, location={"lat": 32.2, "lon": 119.4}),
        factory.seeker_updated("S2", 0, skills=[]),  # pending, not applied: no request
    ) == [{"kind": "job", "id": "J1"}, {"kind": "seeker", "id": "S1"}]


def test_an_update_that_changes_no_card_asks_for_nothing() -> None:
    world = fresh()
    asked(world, factory.seeker_registered("S1", 0))
    assert asked(world, factory.seeker_updated("S1", 1, phone="13900001111")) == []
    assert asked(world, factory.seeker_updated("S1", 2, skills=["电焊"])) == [
        {"kind": "seeker", "id": "S1"}
    ]


def test_a_closed_job_asks_for_nothing() -> None:
    world = fresh()
    asked(
        world, factory.job_posted("J1", 0, shift={"start": factory.at(120), "end": factory.at(600)})
    )
    assert asked(world, factory.job_closed("J1", 1)) == []


def test_duplicates_and_stale_updates_ask_for_nothing() -> None:
    world = fresh()
    posted = factory.job_posted("J1", 5)
    asked(world, posted)
    assert asked(world, posted, factory.job_updated("J1", 1, title="旧")) == []


def test_a_widening_request_parses_back() -> None:
    fields = [*requests.WIDENING_UP_TO_ID, "J1"]
    pairs = zip(fields[::2], fields[1::2], strict=True)
    entry = {name.encode(): value.encode() for name, value in pairs}
    assert requests.parse(entry) == ("job", "J1", True)
