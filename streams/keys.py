"""Every Redis key of the serving state, named once.

Per-entity state (a hash per job, seeker, check-in, market, application) is
written only by the worker that owns the entity's partition; the geo sets and
deadline sets are global indexes that every worker reads and updates.
"""

from processors.ledger import Ref

PREFIX = "gs"

GEO_JOBS = f"{PREFIX}:geo:jobs"  # open jobs at their location
GEO_SEEKERS = f"{PREFIX}:geo:seekers"  # active seekers at home
GEO_CHECKINS = f"{PREFIX}:geo:checkins"  # checked-in seekers where they are now
GEO_MARKETS = f"{PREFIX}:geo:markets"  # gig markets (零工市场)
GEO_STATIONS = f"{PREFIX}:geo:stations"  # gig stations (零工驿站)
DUE_JOBS = f"{PREFIX}:due:jobs"  # open job -> when its expiry or shift end closes it (ms)
DUE_CHECKINS = f"{PREFIX}:due:checkins"  # present seeker -> available_until (ms)
DUE_PENDING = f"{PREFIX}:due:pending"  # "kind:id" -> when its waiting events give up (ms)
# The circle-relevant view of every job, seeker and place write, in order (streams.changes).
CHANGES = f"{PREFIX}:changes"


def state(ref: Ref) -> str:
    return f"{PREFIX}:{ref.kind}:{ref.id}"


def pending(ref: Ref) -> str:
    return f"{PREFIX}:pending:{ref.kind}:{ref.id}"


def pending_member(ref: Ref) -> str:
    return f"{ref.kind}:{ref.id}"


def seen(event_id: str) -> str:
    return f"{PREFIX}:seen:{event_id}"


def job_applications(job_id: str) -> str:
    return f"{PREFIX}:applications:job:{job_id}"
