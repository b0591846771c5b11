"""A batch's writes, checked and applied in one Lua call: the optimistic transaction.

The read script returns the hashes a batch touches, each with its version
field (`_v`), and whether event_ids were seen; the write script checks that
no version changed and no marker appeared meanwhile and then, atomically,
runs every command of the plan. The scripts name their keys in ARGV, which a
single Redis allows; Redis Cluster would need the batch split by hash slot.
"""

READ = """
local seen_count = tonumber(ARGV[1])
local seen = {}
for i = 2, seen_count + 1 do seen[#seen + 1] = redis.call('EXISTS', ARGV[i]) end
local out = {seen}
for i = seen_count + 2, #ARGV do out[#out + 1] = redis.call('HGETALL', ARGV[i]) end
return out
"""
WRITE = """
local plan = cjson.decode(ARGV[1])
for _, check in ipairs(plan[1]) do
  if (redis.call('HGET', check[1], '_v') or '') ~= check[2] then return 0 end
end
for _, key in ipairs(plan[2]) do
  if redis.call('EXISTS', key) == 1 then return 0 end
end
for _, command in ipairs(plan[3]) do
  if command[1] == 'DUE_ALL' then
    -- Every member of a set due at once (rare: a place changed).
    for _, member in ipairs(redis.call('SMEMBERS', command[2])) do
      redis.call('ZADD', command[3], command[4], member)
    end
  -- A figure's counter back at zero goes, or the windows' hashes would keep every group ever.
  elseif redis.call(unpack(command)) == 0 and command[1] == 'HINCRBY' then
    redis.call('HDEL', command[2], command[3])
  end
end
return 1
"""
VERSION = "_v"
# Contention between a handful of agents settles in a few attempts; far more
# means a bug, and the pipeline then isolates the batch message by message.
MAX_ATTEMPTS = 50


class Plan:
    """The writes of one batch, as Redis commands for the write script to run atomically."""

    def __init__(self) -> None:
        self.commands: list[list[str]] = []

    def hset(self, key: str, mapping: dict[str, str]) -> None:
        self.commands.append(["HSET", key, *(x for item in mapping.items() for x in item)])

    def geoadd(self, key: str, lon_lat_member: tuple[float, float, str]) -> None:
        lon, lat, member = lon_lat_member
        self.commands.append(["GEOADD", key, repr(lon), repr(lat), member])

    def zadd(self, key: str, scores: dict[str, int]) -> None:
        for member, score in scores.items():
            self.commands.append(["ZADD", key, str(score), member])

    def zrem(self, key: str, member: str) -> None:
        self.commands.append(["ZREM", key, member])

    def sadd(self, key: str, member: str) -> None:
        self.commands.append(["SADD", key, member])

    def srem(self, key: str, member: str) -> None:
        self.commands.append(["SREM", key, member])

    def hdel(self, key: str, field: str) -> None:
        self.commands.append(["HDEL", key, field])

    def hincrby(self, key: str, field: str, n: int) -> None:
        self.commands.append(["HINCRBY", key, field, str(n)])

    def due_all(self, members: str, due: str, at_ms: int) -> None:
        """Every member of the set due at at_ms in the sorted set (the write script's own)."""
        self.commands.append(["DUE_ALL", members, due, str(at_ms)])

    def expire(self, key: str, seconds: int) -> None:
        self.commands.append(["EXPIRE", key, str(seconds)])

    def delete(self, key: str) -> None:
        self.commands.append(["DEL", key])

    def set(self, key: str, value: str, ex: int) -> None:
        self.commands.append(["SET", key, value, "EX", str(ex)])

    def xadd(self, key: str, fields: dict[str, str], maxlen: int) -> None:
        pairs = (x for item in fields.items() for x in item)
        self.commands.append(["XADD", key, "MAXLEN", "~", str(maxlen), "*", *pairs])


def pairs(flat: list[bytes]) -> dict[bytes, bytes]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


def next_version(version: str) -> str:
    return str(int(version or 0) + 1)
