"""Match requests: the jobs and seekers whose matches a batch's writes may have changed.

The store appends them to a Redis stream in the same atomic write as the
states, so a crash between the write and the matching loses no request; the
matchers share the stream as one consumer group (streams.matcher).
"""

from collections.abc import Iterable, Mapping, Set

from processors.ledger import CHECKIN, JOB, SEEKER, Applied, Ref
from processors.outcome import Outcome

# Trimmed only far behind the matchers (MAXLEN ~): a million requests unread is
# an outage to see on the lag gauge, and memory must stay bounded meanwhile.
MAXLEN = 1_000_000
KIND, ID, WIDEN = "kind", "id", "widen"
# Events after which a job's seekers or a seeker's jobs may differ.
TRIGGERS = {
    "job.posted": JOB,
    "job.updated": JOB,
    "seeker.registered": SEEKER,
    "seeker.updated": SEEKER,
    "checkin": SEEKER,
}

# A request to widen a job's dispatch by a tier, as name, value... up to the job's id.
WIDENING_UP_TO_ID = [KIND, JOB, WIDEN, "1", ID]


def requests_of(applied: Iterable[Applied], changed_cards: Set[Ref]) -> list[dict[str, str]]:
    """One request per job or seeker an applied event of the batch may rematch, in order.

    Only where the matching card changed (a job's, a seeker's or their check-in's):
    a new phone number or description changes no match, and asks for none. A
    rebuild's replayed events ask for none: their matches were made the first time.
    """
    wanted: dict[tuple[str, str], None] = {}
    for one in applied:
        kind = TRIGGERS.get(one.incoming.event.type)
        if kind is None or one.result.outcome is not Outcome.APPLIED:
            continue
        if one.incoming.origin.replayed:
            continue
        data = one.incoming.event.data
        entity_id = data.job_id if kind == JOB else data.seeker_id
        cards = (
            [Ref(JOB, entity_id)]
            if kind == JOB
            else [Ref(SEEKER, entity_id), Ref(CHECKIN, entity_id)]
        )
        if any(ref in changed_cards for ref in cards):
            wanted[(kind, entity_id)] = None
    return [{KIND: kind, ID: entity_id} for kind, entity_id in wanted]


def parse(fields: Mapping[bytes, bytes]) -> tuple[str, str, bool]:
    """kind, id, and whether it widens a dispatch."""
    return fields[KIND.encode()].decode(), fields[ID.encode()].decode(), WIDEN.encode() in fields
