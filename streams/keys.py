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
# Cards (processors.cards) of the open jobs, active seekers and present check-ins, by id.
JOB_CARDS = f"{PREFIX}:cards:jobs"
SEEKER_CARDS = f"{PREFIX}:cards:seekers"
CHECKIN_CARDS = f"{PREFIX}:cards:checkins"
# Jobs and seekers to match after a write that may change their matches (streams.requests).
MATCH_REQUESTS = f"{PREFIX}:match:requests"
DUE_TIERS = f"{PREFIX}:due:tiers"  # job -> when its next dispatch tier may go (ms)
# The figures (processors.figures): "kind:id" -> when to count the entity again (ms), and
# each market's or station's district, for the jobs and seekers that count in it.
DUE_FIGURES = f"{PREFIX}:fig:due"
PLACE_DISTRICTS = f"{PREFIX}:fig:places"
# Every seeker the figures counted ("seeker:id"): all are counted again when a place changes.
COUNTED_SEEKERS = f"{PREFIX}:fig:seekers"


def jobs_of(occupation: str) -> str:
    """Open jobs of one occupation at their location."""
    return f"{PREFIX}:geo:jobs:{occupation}"


def seekers_of(occupation: str, mode: str) -> str:
    """Active seekers of one occupation and travel mode at home: one search radius per index."""
    return f"{PREFIX}:geo:seekers:{occupation}:{mode}"


def state(ref: Ref) -> str:
    return f"{PREFIX}:{ref.kind}:{ref.id}"


def state_of_kind(kind: str) -> str:
    """The pattern of every state of one kind."""
    return f"{PREFIX}:{kind}:*"


def pending(ref: Ref) -> str:
    return f"{PREFIX}:pending:{ref.kind}:{ref.id}"


def member(ref: Ref) -> str:
    """An entity as a member of a set or sorted set ("kind:id"): the waiting and the due."""
    return f"{ref.kind}:{ref.id}"


def ref_of(member: bytes) -> Ref:
    kind, _, entity_id = member.decode().partition(":")
    return Ref(kind, entity_id)


def dispatch(job_id: str) -> str:
    """A job's dispatch: the tier reached so far."""
    return f"{PREFIX}:dispatch:{job_id}"


def pushed(job_id: str) -> str:
    """The seekers a job was pushed to, each once."""
    return f"{PREFIX}:pushed:{job_id}"


def pushes(seeker_id: str) -> str:
    """A seeker's recent pushes (job -> not_before, ms), for the hourly limit."""
    return f"{PREFIX}:pushes:{seeker_id}"


def decided(request_id: str) -> str:
    """What one match request decided, so a redelivered request sends the same pushes again."""
    return f"{PREFIX}:decided:{request_id}"


def seen(event_id: str) -> str:
    return f"{PREFIX}:seen:{event_id}"


def job_applications(job_id: str) -> str:
    return f"{PREFIX}:applications:job:{job_id}"


def tally(ref: Ref) -> str:
    """What the figures keep beside a job, seeker or pair (processors.figures.tally)."""
    return f"{PREFIX}:fig:{ref.kind}:{ref.id}"


def followers(market_id: str) -> str:
    """The jobs that count in a market's district, having none of their own."""
    return f"{PREFIX}:fig:followers:{market_id}"
