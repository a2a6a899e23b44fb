"""The Redis broker's Lua scripts: each runs atomically on the Redis server.

`APPEND` is the heart of the broker: next seq, XADD (trimmed by `MAXLEN ~` and,
every 64 events, by age), the execution's folded state written only if its
version did not change meanwhile, and PUBLISH to the topic's channel, all in
one step, so that seq order is stream order is delivery order whichever
process published.
"""

from __future__ import annotations

__all__ = ["APPEND", "BOOT", "BUMP", "POSITION", "SNAPSHOTS"]

# A topic's epoch names one unbroken history. A Redis restart can break it (an RDB
# snapshot or `appendfsync everysec` brings back an older state, and seq numbers are
# given out again): so each topic remembers the Redis run it was last written under
# (`tboot`), and the first touch under another run gives it a new epoch, unless
# Redis persists every write before acknowledging it (`appendonly yes` with
# `appendfsync always`). `BOOT` runs on every new connection, before its first
# command, so the run id it stores is current before any script can read it.
EPOCH = """
local function current_epoch(epoch_key, tboot_key, boot_key, durable_key, fresh, idle_ttl)
  local epoch = redis.call('GET', epoch_key)
  local boot = redis.call('GET', boot_key) or ''
  if not epoch then
    -- A topic only named (subscribed to, never published on) is forgotten after a while.
    if idle_ttl then
      redis.call('SET', epoch_key, fresh, 'PX', idle_ttl)
      redis.call('SET', tboot_key, boot, 'PX', idle_ttl)
    else
      redis.call('SET', epoch_key, fresh)
      redis.call('SET', tboot_key, boot)
    end
    return fresh
  end
  if redis.call('GET', tboot_key) ~= boot then
    if redis.call('GET', durable_key) ~= '1' then
      epoch = fresh
      redis.call('SET', epoch_key, epoch)
    end
    redis.call('SET', tboot_key, boot)
  end
  return epoch
end
"""

BOOT = """
-- KEYS: boot, durable   ARGV: durable (1|0)
local id = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
if redis.call('GET', KEYS[1]) ~= id then
  redis.call('SET', KEYS[1], id)
end
redis.call('SET', KEYS[2], ARGV[1])
return id
"""

BUMP = """
-- KEYS: epoch   ARGV: the epoch seen, a new epoch
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
end
return redis.call('GET', KEYS[1])
"""

APPEND = (
    EPOCH
    + """
-- KEYS: seq, epoch, stream, topics, exec, live, done, tboot, boot, durable, leases
-- ARGV: payload, ts, epoch-if-new, maxlen, topic, channel, min-ts|'', state|'', version,
--       execution id, live|finished, keep-finished, exec-key-prefix,
--       idempotency key|'', its ttl (ms)
local epoch = current_epoch(KEYS[2], KEYS[8], KEYS[9], KEYS[10], ARGV[3])
if ARGV[14] ~= '' then
  local prior = redis.call('GET', ARGV[14])
  if prior then
    return {tonumber(prior), epoch, 1}
  end
end
if ARGV[8] ~= '' and (redis.call('HGET', KEYS[5], 'v') or '0') ~= ARGV[9] then
  return {-1, epoch, 0}
end
local seq = redis.call('INCR', KEYS[1])
if seq == 1 then
  -- Its first event: the topic is kept from now on (see current_epoch's idle_ttl).
  redis.call('PERSIST', KEYS[2])
  redis.call('PERSIST', KEYS[8])
end
if ARGV[14] ~= '' then
  redis.call('SET', ARGV[14], seq, 'PX', ARGV[15])
end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], seq .. '-0', 'e', ARGV[1], 't', ARGV[2])
if ARGV[7] ~= '' and seq % 64 == 0 then
  local cutoff = tonumber(ARGV[7])
  local first = redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', 1)[1]
  if first and tonumber(first[2][4]) < cutoff then
    local lo, hi = tonumber(string.match(first[1], '^(%d+)')), seq
    while lo < hi do
      local mid = math.floor((lo + hi) / 2)
      local entry = redis.call('XRANGE', KEYS[3], mid .. '-0', '+', 'COUNT', 1)[1]
      if tonumber(entry[2][4]) < cutoff then
        lo = tonumber(string.match(entry[1], '^(%d+)')) + 1
      else
        hi = mid
      end
    end
    redis.call('XTRIM', KEYS[3], 'MINID', lo .. '-0')
  end
end
redis.call('ZADD', KEYS[4], ARGV[2], ARGV[5])
if ARGV[8] ~= '' then
  local version = tonumber(ARGV[9]) + 1
  redis.call('HSET', KEYS[5], 'topic', ARGV[5], 'state', ARGV[8], 'v', version, 'seq', seq)
  if ARGV[11] == 'finished' then
    redis.call('ZREM', KEYS[11], ARGV[10])
    redis.call('SREM', KEYS[6], ARGV[10])
    redis.call('LREM', KEYS[7], 0, ARGV[10])
    redis.call('LPUSH', KEYS[7], ARGV[10])
    for _, id in ipairs(redis.call('LRANGE', KEYS[7], tonumber(ARGV[12]), -1)) do
      redis.call('DEL', ARGV[13] .. id)
    end
    redis.call('LTRIM', KEYS[7], 0, tonumber(ARGV[12]) - 1)
  else
    redis.call('SADD', KEYS[6], ARGV[10])
  end
end
redis.call('PUBLISH', ARGV[6], seq .. ' ' .. epoch .. ' ' .. ARGV[1])
return {seq, epoch, 0}
"""
)

POSITION = (
    EPOCH
    + """
-- KEYS: seq, epoch, tboot, boot, durable   ARGV: epoch-if-new, idle ttl (ms)
local idle = nil
if redis.call('EXISTS', KEYS[1]) == 0 then idle = ARGV[2] end
local epoch = current_epoch(KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1], idle)
return {tonumber(redis.call('GET', KEYS[1]) or '0'), epoch}
"""
)

SNAPSHOTS = """
-- KEYS: seq, epoch, live, done   ARGV: exec-key-prefix, live-only (1|0)
local out = {tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('GET', KEYS[2]) or ''}
local ids = redis.call('SMEMBERS', KEYS[3])
table.sort(ids)
if ARGV[2] == '0' then
  local done = redis.call('LRANGE', KEYS[4], 0, -1)
  for i = #done, 1, -1 do table.insert(ids, done[i]) end
end
for _, id in ipairs(ids) do
  local h = redis.call('HMGET', ARGV[1] .. id, 'state', 'seq')
  if h[1] then
    table.insert(out, h[1])
    table.insert(out, h[2])
  end
end
return out
"""
