"""Which seekers a job's dispatch tier reaches, settled atomically in Redis.

Pushes for different jobs, decided by different workers, race for one
seeker's hourly limit, so the choice among the ranked candidates (not pushed
for this job before, under the limit) is one Lua script that also records it.
The decision is kept under the request's id: a request delivered again after
a crash (streams.matcher) gets the same seekers back, and their pushes are
sent again with the same notification_ids instead of being lost.
"""

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
class Tier:
    number: int  # 0: nothing dispatched (a stop)
    seeker_ids: list[str]  # pushed in this tier, best first


class Dispatcher:
    def __init__(self, redis: Redis, rules: DispatchRules) -> None:
        self.rules = rules
        self._decide = redis.register_script(DECIDE)
        self._widen_due = redis.register_script(WIDEN_DUE)

    async def decide(
        self,
        request_id: str,
        job_id: str,
        widen: bool,
        size: int,
        ranked_ids: list[str],
        at_ms: int,
        next_at_ms: int,
    ) -> Tier:
        """The seekers this request's tier reaches; none unless it starts or widens a dispatch."""
        fixed = [keys.decided(request_id), keys.dispatch(job_id), keys.pushed(job_id)]
        args = [
            "1" if widen else "0",
            size,
            self.rules.max_tiers,
            at_ms,
            HOUR_MS,
            self.rules.pushes_per_hour,
            next_at_ms,
            job_id,
            KEPT_S,
        ]
        reply = await self._decide(
            keys=[*fixed, keys.DUE_TIERS, *(keys.pushes(s) for s in ranked_ids)],
            args=[*args, *ranked_ids],
        )
        return Tier(int(reply[0]), [seeker_id.decode() for seeker_id in reply[1:]])

    async def stop(self, redis: Redis, job_id: str) -> None:
        """No more tiers for a job that closed or filled."""
        await redis.zrem(keys.DUE_TIERS, job_id)

    async def widen_due(self, now_ms: int, limit: int = 1000) -> int:
        """Requests for the jobs whose next tier is due; how many."""
        args = [now_ms, limit, requests.MAXLEN, *requests.WIDENING_UP_TO_ID]
        return int(await self._widen_due(keys=[keys.DUE_TIERS, keys.MATCH_REQUESTS], args=args))
