"""The Redis broker's Lua scripts: each runs atomically on the Redis server.

`APPEND` is the heart of the broker: next seq, XADD (trimmed by `MAXLEN ~` and,
every 64 events, by age), the execution's folded state written only if its
version did not change meanwhile, and PUBLISH to the topic's channel, all in
one step, so that seq order is stream order is delivery order whichever
process published.
"""

from __future__ import annotations

__all__ = ["APPEND", "BOOT", "BUMP", "POSITION", "SNAPSHOTS", "STREAMED"]

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

# An execution's token deltas (a list per node, with a hash of node -> deltas left out
# and one of node -> bytes kept) and log lines (a list of "seq size event"; the count
# left out and the bytes kept are fields of its state hash), the most recent kept:
# appended here, so that a token costs no read and no rewrite of the state. The bounds
# and the rule are asgi_plugin/core/streamed.py's.
STREAMED = """
-- base: the key prefixes of token lists, token counts, token sizes and log lists
local function streamed_keys(base, id)
  local scoped = string.len(id) .. ':' .. id
  return base[1] .. scoped .. ':', base[2] .. id, base[3] .. id, base[4] .. id
end

local function forget_streamed(base, id)
  local tokens, counts, sizes, logs = streamed_keys(base, id)
  for _, node in ipairs(redis.call('HKEYS', counts)) do
    redis.call('DEL', tokens .. node)
  end
  redis.call('DEL', counts, sizes, logs)
end

-- args: APPEND's arguments: [16] tok|log, [17] the delta | the message's size, [18] how
-- many to keep, [19] the node id, [24] how many bytes to keep
local function keep_streamed(args, base, exec_key, id, seq, frame)
  local h = redis.call('HMGET', exec_key, 'state', 'done')
  if not h[1] or h[2] == '1' then
    return  -- no execution.started yet, or it finished: nothing to show it in
  end
  local tokens, counts, sizes, logs = streamed_keys(base, id)
  local keep, most = tonumber(args[18]), tonumber(args[24])
  if args[16] == 'tok' then
    local list, node = tokens .. args[19], args[19]
    local n = redis.call('RPUSH', list, args[17])
    local bytes = redis.call('HINCRBY', sizes, node, #args[17])
    local dropped = 0
    while n > 0 and (n > keep or bytes > most) do
      bytes = bytes - #redis.call('LPOP', list)
      n = n - 1
      dropped = dropped + 1
    end
    redis.call('HINCRBY', counts, node, dropped)
    if dropped > 0 then redis.call('HSET', sizes, node, bytes) end
  else
    local n = redis.call('RPUSH', logs, seq .. ' ' .. args[17] .. ' ' .. frame)
    local bytes = redis.call('HINCRBY', exec_key, 'log_bytes', tonumber(args[17]))
    local dropped = 0
    while n > 0 and (n > keep or bytes > most) do
      local first = redis.call('LPOP', logs)
      bytes = bytes - tonumber(string.match(first, '^%d+ (%d+) '))
      n = n - 1
      dropped = dropped + 1
    end
    if dropped > 0 then
      redis.call('HINCRBY', exec_key, 'logs_omitted', dropped)
      redis.call('HSET', exec_key, 'log_bytes', bytes)
    end
  end
end
"""

APPEND = (
    EPOCH
    + STREAMED
    + """
-- KEYS: seq, epoch, stream, topics, exec, live, done, tboot, boot, durable, leases
-- ARGV: payload, then the others packed in one MessagePack array of strings (one
--       argument for the client to encode, not 24; unpacked here as A[2], A[3], ...):
--       ts, epoch-if-new, maxlen, topic, channel, min-ts|'', state|'', version,
--       execution id, live|finished, keep-finished, exec-key-prefix,
--       idempotency key|'', its ttl (ms),
--       streamed: tok|log|reset|'', a token's delta or a log's size, how many to
--       keep, the node id, the key prefixes of token lists, token counts, token
--       sizes and logs, how many bytes to keep,
--       where the seq goes in the payload (redis_frames.py)
local A = cmsgpack.unpack(ARGV[2])
table.insert(A, 1, ARGV[1])
local epoch = current_epoch(KEYS[2], KEYS[8], KEYS[9], KEYS[10], A[3])
if A[14] ~= '' then
  local prior = redis.call('GET', A[14])
  if prior then
    return {tonumber(prior), epoch, 1}
  end
end
if A[8] ~= '' and (redis.call('HGET', KEYS[5], 'v') or '0') ~= A[9] then
  return {-1, epoch, 0}
end
local seq = redis.call('INCR', KEYS[1])
-- The frame as clients get it: encoded once by the publisher, the seq spliced in.
local at = tonumber(A[25])
local frame = string.sub(A[1], 1, at) .. '"seq":' .. seq .. ',' .. string.sub(A[1], at + 1)
if seq == 1 then
  -- Its first event: the topic is kept from now on (see current_epoch's idle_ttl).
  redis.call('PERSIST', KEYS[2])
  redis.call('PERSIST', KEYS[8])
end
if A[14] ~= '' then
  redis.call('SET', A[14], seq, 'PX', A[15])
end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', A[4], seq .. '-0', 'e', frame, 't', A[2])
if A[7] ~= '' and seq % 64 == 0 then
  local cutoff = tonumber(A[7])
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
redis.call('ZADD', KEYS[4], A[2], A[5])
local streamed = {A[20], A[21], A[22], A[23]}
if A[16] == 'tok' or A[16] == 'log' then
  keep_streamed(A, streamed, KEYS[5], A[10], seq, frame)
end
if A[8] ~= '' then
  local version = tonumber(A[9]) + 1
  if A[16] == 'reset' then
    forget_streamed(streamed, A[10])  -- a new run under the same id: its own text and logs
    redis.call('HDEL', KEYS[5], 'logs_omitted', 'log_bytes')
  end
  redis.call('HSET', KEYS[5], 'topic', A[5], 'state', A[8], 'v', version, 'seq', seq,
    'done', A[11] == 'finished' and '1' or '0')
  if A[11] == 'finished' then
    redis.call('ZREM', KEYS[11], A[10])
    redis.call('SREM', KEYS[6], A[10])
    redis.call('LREM', KEYS[7], 0, A[10])
    redis.call('LPUSH', KEYS[7], A[10])
    for _, id in ipairs(redis.call('LRANGE', KEYS[7], tonumber(A[12]), -1)) do
      redis.call('DEL', A[13] .. id)
      forget_streamed(streamed, id)
    end
    redis.call('LTRIM', KEYS[7], 0, tonumber(A[12]) - 1)
  else
    redis.call('SADD', KEYS[6], A[10])
  end
end
redis.call('PUBLISH', A[6], seq .. ' ' .. epoch .. ' ' .. frame)
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

SNAPSHOTS = (
    STREAMED
    + """
-- KEYS: seq, epoch, live, done
-- ARGV: exec-key-prefix, live-only (1|0), the key prefixes of token lists, token
--       counts, token sizes and log lists
-- Per execution: its state, the seq it reflects, the log lines kept and how many were
-- left out, then node, deltas left out, deltas, for each node with tokens.
local out = {tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('GET', KEYS[2]) or ''}
local ids = redis.call('SMEMBERS', KEYS[3])
table.sort(ids)
if ARGV[2] == '0' then
  local done = redis.call('LRANGE', KEYS[4], 0, -1)
  for i = #done, 1, -1 do table.insert(ids, done[i]) end
end
for _, id in ipairs(ids) do
  local h = redis.call('HMGET', ARGV[1] .. id, 'state', 'seq', 'logs_omitted')
  if h[1] then
    local tokens, counts, _, logs = streamed_keys({ARGV[3], ARGV[4], ARGV[5], ARGV[6]}, id)
    local nodes = {}
    local kept = redis.call('HGETALL', counts)
    for i = 1, #kept, 2 do
      table.insert(nodes, kept[i])
      table.insert(nodes, kept[i + 1])
      table.insert(nodes, redis.call('LRANGE', tokens .. kept[i], 0, -1))
    end
    table.insert(out, {h[1], h[2], h[3] or '0', redis.call('LRANGE', logs, 0, -1), nodes})
  end
end
return out
"""
)
