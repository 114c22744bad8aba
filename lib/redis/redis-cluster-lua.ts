import { CLOCK } from './redis-scripts.js';

/*
 * What every cluster script of RedisLeaseStore starts with: the CLOCK prelude, then how its
 * records are read and written. Internal.
 *
 * KEYS, the same for every script, all hashes but 6 and 8:
 * 1 members: identity -> 'session expiresAt joinedAt renewedAt digest'
 * 2 loops: identity -> the JSON of its loop names (opaque to the scripts)
 * 3 owners: loop -> 'session identity', while claimed (a release deletes it)
 * 4 tokens: loop -> its latest fencing token (kept for good, as the lease's token counter)
 * 5 runs: loop -> 'writtenAt startedAgo endedAgo' of its last recorded run: when the server
 *   wrote it, and the owner's durations before that ('-': no end)
 * 6 sessions: the session counter (a string)
 * 7 controls: loop -> the JSON of its control, {state, by, at, overrides, trigger, triggerAt}
 *   (see redis-control-scripts.ts)
 * 8 cversion: the controls' version counter (a string)
 * 9 reports: loop -> the report written with its last recorded run, its JSON text as sent (none:
 *   no field); its time is the run's writtenAt. A hash of its own, not a part of the run: claims
 *   answer the runs, and need not carry every report over the wire.
 *
 * Times are server ms with 3 decimals, sessions and tokens integers, written by string.format; the
 * free-form part of a record (digest, identity) comes last, so it may hold any character. A call
 * over 10,000 loops must parse and format little: in Redis's Lua a string.match or a
 * string.format costs more than a field of a hash command. So a loop's state is spread over three
 * hashes, and a run keeps its durations as sent (finite numbers, checked by the caller) beside
 * the server's time, instead of two times formatted per run; its start is writtenAt - startedAgo
 * on the server's clock all the same.
 */

/**
 * The cluster scripts' prelude: CLOCK, then helpers. Commands take at most ~8,000 values through
 * unpack(), so commands over many fields go in chunks.
 */
export const CLUSTER = `${CLOCK}
local nowUs = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nowUsText = string.format('%.0f', nowUs)
local CHUNK = 1000
local function finite(text)
  local x = tonumber(text)
  if x and x == x and x > -math.huge and x < math.huge then return x end
  return nil
end
local function member(text)
  if not text then return nil end
  local s, e, j, r, d = string.match(text, '^(%d+) (%S+) (%S+) (%S+) (.*)$')
  if not s then return nil end
  local expires, joined, renewed = finite(e), finite(j), finite(r)
  if not expires or not joined or not renewed then return nil end
  return {session = s, expires = expires, joined = j, renewed = r, digest = d}
end
-- Members read once per script: a claim asks about the same few owners many times.
local seen = {}
local function alive(identity, session)
  local m = seen[identity]
  if m == nil then
    m = member(redis.call('HGET', KEYS[1], identity)) or false
    seen[identity] = m
  end
  return m ~= false and m.session == session and m.expires > now
end
-- An owner record's session and identity, parsed once per record.
local parsed = {}
local function owner(text)
  local o = parsed[text]
  if o == nil then
    local i = string.find(text, ' ', 1, true)
    o = i and {session = string.sub(text, 1, i - 1), identity = string.sub(text, i + 1)} or false
    parsed[text] = o
  end
  return o
end
-- Calls visit(names, offset) for field(1) .. field(n), CHUNK names at a time.
local function chunks(n, field, visit)
  for i = 1, n, CHUNK do
    local names = {}
    for k = i, math.min(i + CHUNK - 1, n) do names[k - i + 1] = field(k) end
    visit(names, i - 1)
  end
end
-- A counter's next value, never below the server's clock in microseconds: greater than every
-- value it gave, even after Redis lost the key (while the clock does not go back).
local function counter(key)
  local v = redis.call('INCR', key)
  if v < nowUs then
    v = nowUs
    redis.call('SET', key, nowUsText)
  end
  return string.format('%.0f', v)
end
local function hset(key, values, count)
  if count > 0 then redis.call('HSET', key, unpack(values, 1, count)) end
end
-- Whether a loop whose owner record is o and token is token is claimed by identity with wanted.
local function owns(o, token, identity, wanted)
  if not o or token ~= wanted then return false end
  local by = owner(o)
  return by ~= false and by.identity == identity
end
-- Writes each loop's report (false: none, so an earlier one is dropped). A map, so that when a
-- loop has two records in one call the last one wins, as its run does.
local function report(reports)
  local kept, k, dropped, d = {}, 0, {}, 0
  for loop, text in pairs(reports) do
    if text then
      kept[k + 1], kept[k + 2] = loop, text
      k = k + 2
    else
      d = d + 1
      dropped[d] = loop
    end
  end
  hset(KEYS[9], kept, k)
  if d > 0 then redis.call('HDEL', KEYS[9], unpack(dropped, 1, d)) end
end
-- The run records at ARGV[p]: a count, then loop, token, startedAgo, endedAgo ('-' in flight),
-- '1' when a report follows ('0' not), the report each. Answers where the arguments after them
-- start.
local function record(identity, p)
  local n = tonumber(ARGV[p])
  chunks(n, function(k) return ARGV[p + 6 * k - 5] end, function(names, offset)
    local o = redis.call('HMGET', KEYS[3], unpack(names))
    local tk = redis.call('HMGET', KEYS[4], unpack(names))
    local out, c, reports = {}, 0, {}
    for k = 1, #names do
      local base = p + 6 * (offset + k) - 5
      if owns(o[k], tk[k], identity, ARGV[base + 1]) then
        out[c + 1] = names[k]
        out[c + 2] = nowText .. ' ' .. ARGV[base + 2] .. ' ' .. ARGV[base + 3]
        c = c + 2
        reports[names[k]] = ARGV[base + 4] == '1' and ARGV[base + 5]
      end
    end
    hset(KEYS[5], out, c)
    report(reports)
  end)
  return p + 1 + 6 * n
end`;
