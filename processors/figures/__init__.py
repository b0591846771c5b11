"""Live figures of the gig markets as integer counters: 求人倍率, 工资价位, fill, activity.

Pure: no I/O and no clock. The wiring keeps the counters (HINCRBY on Redis
hashes, in the same atomic write as the ledger's states) and, per entity, its
history and the time it was last counted at.

How the counters are kept
-------------------------
Every figure is a count, a ratio of two counts or a quantile of a sketch's
bucket counts (sketch.py). A counter is named by a Key: figure, grouping,
group, window and, for a sketch, bucket (counts.py). Each counter is the sum,
over the jobs, seekers and matched pairs, of what each contributes, plus the
check-ins counted as they happen. A contribution (contributions.of_job,
of_seeker, of_pair) is a pure function of the entity's ledger state, its
history (history.py: the facts the state forgets, such as when a job was
first posted or on which days a seeker showed up), a time and the district
lookups. So:

1. Changes. When the ledger changes an entity, or an event's facts change its
   history, add delta(before, after) of its contributions. Changes
   telescope: the states at a batch's start and end give the same sum as
   each event in turn.
2. Time. The live figures (open positions, active seekers) also change with
   no event: at a job's deadline, and when a seeker's oldest recent day leaves
   the last 30. contributions.*_due_ms gives a time no later than the next
   such change; keep it in a sorted set, as the job expiry sweep does, and
   count the entity again once it has passed. Keep beside each entity the
   time it was last counted at, take "before" at that time and "after" at
   max(now, it): then a sweep and a change can come in either order, from
   workers whose clocks differ a little, and still add up exactly.
3. Occurrences. contributions.of_event adds a check-in's counts once, in the
   write that records its event_id as seen.
4. Histories take the facts of every event the ledger applied or found stale
   and merge them by earliest, latest and union, so arrival order and
   redelivery leave them the same.
5. Lookups. A job without a district of its own counts in its market's, a
   seeker where the caller's function puts them (groups.py). When a lookup's
   answer changes for an entity, count it again, "before" with the old one.

Reading: positions.positions_per_seeker, wage_levels.wage_levels,
fill.fill_rows, fill.conversion, activity.sessions and
activity.checkins_by_hour, from the counters read back as a mapping.
Windows (windows.py): the live now, Beijing hours, days, weeks and months, all time.
Each module states the rules of its figures.
"""
