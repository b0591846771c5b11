"""Searches of the geo indexes that bring back cards, one Lua script per search.

GEOSEARCH finds the members near a point; the same script reads their cards
(processors.cards), so a search of any size is one round trip and no id
travels to Redis and back. Deciding what qualifies is left to processors.
"""

from functools import lru_cache

import msgspec

from processors.cards import JobCard

# Redis measures on a sphere 0.028% larger than the travel model's and stores a
# point to within about 0.6 m, so a search reaches a little further than the
# circle and the travel model, on the cards' own coordinates, draws the edge.
RADIUS_PAD_RATIO = 1e-3
RADIUS_PAD_KM = 1e-3

# KEYS: the geo indexes, then the card hashes; ARGV: how many card hashes, lon,
# lat, a radius (km) per index. Returns the distinct members found, then their
# cards in each hash (nil where a member has none). HMGET goes in chunks: Lua's
# unpack has a limit on its stack.
SCRIPT = """
local ids, seen = {}, {}
local indexes = #KEYS - tonumber(ARGV[1])
for i = 1, indexes do
  local found = redis.call('GEOSEARCH', KEYS[i], 'FROMLONLAT', ARGV[2], ARGV[3],
    'BYRADIUS', ARGV[3 + i], 'km')
  for _, id in ipairs(found) do
    if not seen[id] then seen[id] = true; ids[#ids + 1] = id end
  end
end
local out = {ids}
for h = indexes + 1, #KEYS do
  local cards = {}
  for first = 1, #ids, 1000 do
    local chunk = redis.call('HMGET', KEYS[h], unpack(ids, first, math.min(first + 999, #ids)))
    for _, card in ipairs(chunk) do cards[#cards + 1] = card end
  end
  out[#out + 1] = cards
end
return out
"""
_JOB = msgspec.json.Decoder(JobCard)


def padded_km(radius_km: float) -> float:
    """A search radius that misses no point the travel model puts within radius_km."""
    return radius_km * (1 + RADIUS_PAD_RATIO) + RADIUS_PAD_KM


def open_job_cards(
    ids: list[bytes], blobs: list[bytes | None], now_ms: int
) -> list[tuple[str, JobCard]]:
    """The jobs found whose cards say they are open; by the clock, not by the index's last sweep."""
    found = []
    for job_id, blob in zip(ids, blobs, strict=True):
        if blob is not None and now_ms < (card := job_card(blob)).deadline_ms:
            found.append((job_id.decode(), card))
    return found


# The same cards come back query after query (a busy district's jobs answer
# every search there): each distinct card is decoded once. A card that changed
# is different bytes, so nothing stale is served.
@lru_cache(maxsize=100_000)
def job_card(blob: bytes) -> JobCard:
    return _JOB.decode(blob)
