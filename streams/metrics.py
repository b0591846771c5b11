"""Prometheus metrics of the pipeline; labels are bounded (topics, outcomes), never ids."""

from prometheus_client import Counter, Gauge, Histogram

EVENTS = Counter(
    "gigstream_events_total",
    "Input messages by topic and outcome (applied, duplicate, stale, pending, rejected).",
    ["topic", "outcome"],
)
LATE_EVENTS = Counter(
    "gigstream_pending_resolved_total",
    "Waiting messages resolved once their referent arrived or their wait ran out, by outcome.",
    ["topic", "outcome"],
)
CONFLICTS = Counter(
    "gigstream_state_conflicts_total",
    "Batches decided again because another writer changed their keys meanwhile.",
)
BATCH_SECONDS = Histogram(
    "gigstream_batch_seconds",
    "Time to validate, apply and dead-letter one batch (of any input topics).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
INTERNAL_ERRORS = Counter(
    "gigstream_internal_errors_total",
    "Messages dead-lettered because processing them raised (a bug to fix).",
    ["topic"],
)
# The circle's coverage, from the live coverage of the worker (streams.coverage).
# Per district at most: H3 cells would be labels without bound.
CIRCLE_SEEKERS = Gauge("gigstream_circle_seekers", "Active seekers, city-wide.")
CIRCLE_COVERED = Gauge(
    "gigstream_circle_covered_seekers",
    "Active seekers with an open job of their occupations (work), a market or station (place),"
    " or both within the circle by their travel mode, city-wide.",
    ["for"],
)
CIRCLE_DISTRICT_SEEKERS = Gauge(
    "gigstream_circle_district_seekers", "Active seekers by district of home.", ["district"]
)
CIRCLE_DISTRICT_COVERED = Gauge(
    "gigstream_circle_district_covered_seekers",
    "gigstream_circle_covered_seekers by district of home.",
    ["district", "for"],
)
# Where the next gig stations would help most (streams.circle_service), by rank 1..k:
# a rank is a bounded label, the cell's id and centre are values.
CIRCLE_GAP_SEEKERS = Gauge(
    "gigstream_circle_gap_seekers",
    "Seekers a new station at the rank's cell would bring within the circle of a place.",
    ["rank"],
)
CIRCLE_GAP_LAT = Gauge("gigstream_circle_gap_lat", "Latitude of the rank's cell centre.", ["rank"])
CIRCLE_GAP_LON = Gauge("gigstream_circle_gap_lon", "Longitude of the rank's cell centre.", ["rank"])
# The matcher (streams.matcher): requests handled, matches and pushes sent.
MATCH_REQUESTS = Counter(
    "gigstream_match_requests_total",
    "Match requests handled, by kind (job, seeker) and outcome (done, stopped, failed).",
    ["kind", "outcome"],
)
MATCHES_SENT = Counter("gigstream_matches_total", "match.found records sent to gig.matches.")
PUSHES_SENT = Counter(
    "gigstream_pushes_total", "notification.requested records sent to gig.notifications."
)
MATCH_SECONDS = Histogram(
    "gigstream_match_seconds",
    "Time to handle one match request: candidates, scores, dispatch, sends delivered.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
# How far behind the consumers are, measured every LAG_INTERVAL_S (streams.lag,
# streams.match_backlog). By topic, not partition: a topic's lag is what is acted on.
CONSUMER_LAG = Gauge(
    "gigstream_consumer_lag",
    "Messages past the consumer group's committed offsets (the end offset minus the committed"
    " one), by topic, summed over the partitions this process holds.",
    ["topic"],
)
MATCH_BACKLOG = Gauge(
    "gigstream_match_requests_backlog",
    "Match requests not done yet, by state: waiting (no matcher has read them) or taken (read"
    " by a matcher, not acknowledged). The matchers' group's: every matcher reports the same.",
    ["state"],
)
# Dead letters by a bounded reason (streams.rejections), and how long an event took from
# its Kafka record's timestamp to its batch's state written (streams.pipeline).
DEADLETTERS = Counter(
    "gigstream_deadletters_total",
    "Messages sent to gig.deadletter, by input topic and kind of reason (streams.rejections).",
    ["topic", "reason"],
)
EVENT_LATENCY = Histogram(
    "gigstream_event_latency_seconds",
    "From an input record's Kafka timestamp to its batch's state written in Redis.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800),
)
