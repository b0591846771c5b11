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
# The city's figures (streams.figure_metrics), read from the counters in Redis every
# FIGURES_INTERVAL_S. Every worker exports the same city-wide values, so dashboards
# take max by (...) across workers, never sum. `by` is city (group ""), occupation,
# district or market; groups beyond the most active 100 of their `by` are summed into
# group "其他". `window` is now (live), day (today) or week (this week), Beijing time.
OPEN_POSITIONS = Gauge(
    "gigstream_open_positions", "Remaining headcount of the jobs open now.", ["by", "group"]
)
POSTED_POSITIONS = Gauge(
    "gigstream_posted_positions",
    "Headcount of the jobs first posted in the window (day, week).",
    ["by", "group", "window"],
)
ACTIVE_SEEKERS = Gauge(
    "gigstream_active_seekers",
    "Seekers active now (registered, checked in or applied on one of the last 30 days, not"
    " withdrawn) or in the window (day, week); a seeker counts in each occupation listed.",
    ["by", "group", "window"],
)
POSITIONS_PER_SEEKER = Gauge(
    "gigstream_positions_per_seeker",
    "求人倍率: open positions (now) or positions posted (day, week) ÷ active seekers; absent"
    " while no seeker counts in the group.",
    ["by", "group", "window"],
)
DAILY_WAGE = Gauge(
    "gigstream_daily_wage_yuan",
    "工资价位: quantiles of posted daily wages (CNY) over the last 30 days, each job once, within"
    " 0.5%: 0.1 低位数, 0.5 中位数, 0.9 高位数. by city or occupation.",
    ["by", "group", "quantile"],
)
WAGE_JOBS = Gauge(
    "gigstream_daily_wage_jobs",
    "Jobs with a daily wage posted over the last 30 days: what gigstream_daily_wage_yuan is of.",
    ["by", "group"],
)
FILL = Gauge(
    "gigstream_fill_ratio",
    "适配率: positions filled ÷ positions posted, of the jobs first posted in the window.",
    ["by", "group", "window"],
)
APPLICATIONS_PER_JOB = Gauge(
    "gigstream_applications_per_job",
    "Applications received ÷ jobs, of the jobs first posted in the window.",
    ["by", "group", "window"],
)
TIME_TO_FILL = Gauge(
    "gigstream_time_to_fill_seconds",
    "From first posting to filled, quantiles 0.5 and 0.9, of the window's jobs filled so far.",
    ["by", "group", "window", "quantile"],
)
MATCHED_PAIRS = Gauge(
    "gigstream_matched_pairs", "Seeker-job pairs first matched in the window.", ["window"]
)
MATCH_HIRE_CONVERSION = Gauge(
    "gigstream_match_hire_conversion_ratio",
    "Of the pairs first matched in the window, the share hired at or after the match.",
    ["window"],
)
CHECKINS = Gauge(
    "gigstream_checkins",
    "Check-ins in the current or the previous Beijing hour, city-wide or at a market or station"
    " (every market with a check-in in the last 24 hours, 0 when it had none).",
    ["by", "group", "hour"],
)
# Live-stream sessions (直播带岗) are ids without bound: only those whose figures changed in
# the last 7 days, the 50 latest at most.
SESSION_POSTED_JOBS = Gauge(
    "gigstream_session_posted_jobs", "Jobs first posted by the live-stream session.", ["session"]
)
SESSION_POSTED_POSITIONS = Gauge(
    "gigstream_session_posted_positions",
    "Headcount of the jobs first posted by the live-stream session.",
    ["session"],
)
SESSION_APPLICATIONS = Gauge(
    "gigstream_session_applications",
    "Applications to the live-stream session's jobs, from any channel.",
    ["session"],
)
SESSION_HIRES = Gauge(
    "gigstream_session_hires", "Hires into the live-stream session's jobs.", ["session"]
)
FIGURES_REFRESHED = Gauge(
    "gigstream_figures_refreshed_timestamp_seconds",
    "When this process last exported the figures from Redis (Unix time).",
)
