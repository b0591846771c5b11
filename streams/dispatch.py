"""Which seekers a job's dispatch tier reaches, settled atomically in Redis.

Pushes for different jobs, decided by different workers, race for one
seeker's hourly limit, so the choice among the ranked candidates (not pushed
for this job before, under the limit) is one Lua script that also records it.
The decision is kept under the request's id: a request delivered again after
a crash (streams.matcher) gets the same seekers back, and their pushes are
sent again with the same notification_ids instead of being lost.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from processors.dispatch import DispatchRules
from streams import keys, requests

# KEYS: decided, dispatch, pushed, due tiers, then each candidate's pushes.
# ARGV: widen, tier size, max tiers, at (ms), window (ms), limit, next tier at
# (ms), job id, ttl (s), then the candidates, best first.
DECIDE = """
local decided = redis.call('GET', KEYS[1])
if decided then return cjson.decode(decided) end
local widen, size, max_tiers = ARGV[1] == '1', tonumber(ARGV[2]), tonumber(ARGV[3])
local at, window, limit = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local job, ttl = ARGV[8], tonumber(ARGV[9])
local tier = tonumber(redis.call('HGET', KEYS[2], 'tier') or '0')
local out = {tier}
if (tier == 0 or widen) and tier < max_tiers then
  tier = tier + 1
  out[1] = tier
  for i = 10, #ARGV do
    if #out - 1 >= size then break end
    local seeker, pushes = ARGV[i], KEYS[i - 5]
    if redis.call('SISMEMBER', KEYS[3], seeker) == 0 then
      redis.call('ZREMRANGEBYSCORE', pushes, '-inf', at - window)
      if redis.call('ZCOUNT', pushes, '(' .. (at - window), '+inf') < limit then
        redis.call('SADD', KEYS[3], seeker)
        redis.call('ZADD', pushes, at, job)
        redis.call('PEXPIREAT', pushes, at + window)
        out[#out + 1] = seeker
      end
    end
  end
  redis.call('HSET', KEYS[2], 'tier', tier)
  redis.call('EXPIRE', KEYS[2], ttl)
  redis.call('EXPIRE', KEYS[3], ttl)
  if tier < max_tiers then
    redis.call('ZADD', KEYS[4], ARGV[7], job)
  else
    redis.call('ZREM', KEYS[4], job)
  end
end
redis.call('SET', KEYS[1], cjson.encode(out), 'EX', ttl)
return out
"""
# Moves the jobs whose next tier is due into the request stream, atomically.
# KEYS: due tiers, requests. ARGV: now (ms), limit, MAXLEN, then the request's
# fields up to the job id, which comes last.
WIDEN_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, job in ipairs(due) do
  local entry = {}
  for i = 4, #ARGV do entry[#entry + 1] = ARGV[i] end
  entry[#entry + 1] = job
  redis.call('ZREM', KEYS[1], job)
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(entry))
end
return #due
"""
HOUR_MS = 3_600_000
# A dispatch and its decisions are kept this long after their last change: far
# longer than a job stays open, and longer than any redelivery.
KEPT_S = 30 * 86_400


@dataclass(frozen=True)
class Ask:
    """One match request's turn at a job's dispatch."""

    request_id: str
    job_id: str
    widen: bool
    size: int  # seekers this tier may reach
    ranked_ids: list[str]  # the push-reachable candidates, best first
    at_ms: int  # when its pushes may go (not_before)
    next_at_ms: int  # when the next tier may go


@dataclass(frozen=True)
class Tier:
    number: int  # 0: nothing dispatched (a stop)
    seeker_ids: list[str]  # pushed in this tier, best first


class Dispatcher:
    def __init__(self, redis: Redis, rules: DispatchRules) -> None:
        # Scripts are registered on a client but run on whichever client or pipeline is given.
        self.rules = rules
        self._decide = redis.register_script(DECIDE)
        self._widen_due = redis.register_script(WIDEN_DUE)

    async def decide(self, redis: Redis, asks: Sequence["Ask"]) -> list[Tier]:
        """For each ask, the seekers its tier reaches: none unless it starts or widens a
        dispatch. One pipeline for all of them; each script runs atomically."""
        async with redis.pipeline(transaction=False) as pipe:
            for ask in asks:
                await self._decide(keys=self._keys(ask), args=self._args(ask), client=pipe)
            replies = await pipe.execute()
        return [Tier(int(r[0]), [seeker_id.decode() for seeker_id in r[1:]]) for r in replies]

    def _keys(self, ask: "Ask") -> list[str]:
        fixed = [keys.decided(ask.request_id), keys.dispatch(ask.job_id), keys.pushed(ask.job_id)]
        return [*fixed, keys.DUE_TIERS, *(keys.pushes(s) for s in ask.ranked_ids)]

    def _args(self, ask: "Ask") -> list[str | int]:
        return [
            "1" if ask.widen else "0",
            ask.size,
            self.rules.max_tiers,
            ask.at_ms,
            HOUR_MS,
            self.rules.pushes_per_hour,
            ask.next_at_ms,
            ask.job_id,
            KEPT_S,
            *ask.ranked_ids,
        ]

    async def stop(self, redis: Redis, job_ids: Sequence[str]) -> None:
        """No more tiers for jobs that closed or filled."""
        if job_ids:
            await redis.zrem(keys.DUE_TIERS, *job_ids)

    async def widen_due(self, now_ms: int, limit: int = 1000) -> int:
        """Requests for the jobs whose next tier is due; how many."""
        args = [now_ms, limit, requests.MAXLEN, *requests.WIDENING_UP_TO_ID]
        return int(await self._widen_due(keys=[keys.DUE_TIERS, keys.MATCH_REQUESTS], args=args))
