import { CLUSTER } from './redis-cluster-lua.js';

/*
 * The Lua scripts of RedisLeaseStore's cluster calls (see ClusterStore), on the keys and records
 * that redis-cluster-lua.ts describes. Each is one atomic call that reads the server's clock and
 * does nothing after ARGV's last value, the caller's deadline. Announcements name the cluster on
 * its channel, the two ARGV values before the deadline. Times go back as the server's readings
 * (the answer's own time included), so that the caller takes the durations. Internal.
 */

/**
 * ARGV: identity, session ('' to join), ttl, digest, '1' when loop names follow ('0' not), their
 * JSON, run records, channel, name, deadline. A new session comes from the counter, never below
 * the server's clock in microseconds, so it is greater than every earlier one even after Redis
 * lost the cluster's keys. Members whose lease ended are removed with their loop names here:
 * every live member heartbeats, so the hashes hold about the live members only. Answers the
 * session, the stored digest (nil: none), the controls' version ('0': none), then identity,
 * session, digest, joinedAt, renewedAt of each live member.
 */
export const HEARTBEAT = `${CLUSTER}
local identity, digest = ARGV[1], ARGV[4]
local m = member(redis.call('HGET', KEYS[1], identity))
local stored = m and m.digest or false
local changed = false
if not m or m.expires <= now or m.session ~= ARGV[2] then
  m = {session = counter(KEYS[6]), joined = nowText, digest = digest}
  changed = true
  if ARGV[5] ~= '1' then redis.call('HSET', KEYS[2], identity, '[]') end
end
if m.digest ~= digest then changed = true end
local expires = string.format('%.3f', now + (finite(ARGV[3]) or 0))
local text = m.session .. ' ' .. expires .. ' ' .. m.joined .. ' ' .. nowText .. ' ' .. digest
redis.call('HSET', KEYS[1], identity, text)
if ARGV[5] == '1' then redis.call('HSET', KEYS[2], identity, ARGV[6]) end
local p = record(identity, 7)
if changed then redis.call('PUBLISH', ARGV[p], ARGV[p + 1]) end
-- The controls' version rides on the heartbeat, so that a change costs no poll between beats.
local reply, r = {1, nowText, m.session, stored, redis.call('GET', KEYS[8]) or '0'}, 5
local gone, g = {}, 0
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local x = member(all[i + 1])
  if x and x.expires > now then
    reply[r + 1], reply[r + 2], reply[r + 3] = all[i], x.session, x.digest
    reply[r + 4], reply[r + 5] = x.joined, x.renewed
    r = r + 5
  else
    g = g + 1
    gone[g] = all[i]
  end
end
for i = 1, g, CHUNK do
  local j = math.min(i + CHUNK - 1, g)
  redis.call('HDEL', KEYS[1], unpack(gone, i, j))
  redis.call('HDEL', KEYS[2], unpack(gone, i, j))
end
return reply`;

/** ARGV: identity, digest, deadline. Answers the JSON of the loop names (status 0: none). */
export const MEMBER_LOOPS = `${CLUSTER}
local m = member(redis.call('HGET', KEYS[1], ARGV[1]))
if not m or m.expires <= now or m.digest ~= ARGV[2] then return {0, nowText} end
return {1, nowText, redis.call('HGET', KEYS[2], ARGV[1]) or '[]'}`;

/**
 * ARGV: identity, session, the loops, deadline. Status 0 when the session is not alive; else two
 * values a loop: its token and its last run (nil: none), or nil and the live owner. A new
 * ownership's token is above the loop's last one and never below the server's clock in
 * microseconds (as sessions are).
 */
export const CLAIM = `${CLUSTER}
local identity, session = ARGV[1], ARGV[2]
if not alive(identity, session) then return {0, nowText} end
local mine = session .. ' ' .. identity
local reply = {1, nowText}
chunks(#ARGV - 3, function(k) return ARGV[k + 2] end, function(names, offset)
  local o = redis.call('HMGET', KEYS[3], unpack(names))
  local tk = redis.call('HMGET', KEYS[4], unpack(names))
  local runs = redis.call('HMGET', KEYS[5], unpack(names))
  local taken, tokens, c = {}, {}, 0
  for k = 1, #names do
    local r = 2 * (offset + k) + 1
    local by = o[k] and owner(o[k])
    if o[k] == mine and tk[k] then
      reply[r], reply[r + 1] = tk[k], runs[k]
    elseif by and o[k] ~= mine and alive(by.identity, by.session) then
      reply[r], reply[r + 1] = false, by.identity
    else
      local token = nowUsText
      local last = tonumber(tk[k])
      if last and last >= nowUs then token = string.format('%.0f', last + 1) end
      taken[c + 1], taken[c + 2] = names[k], mine
      tokens[c + 1], tokens[c + 2] = names[k], token
      c = c + 2
      reply[r], reply[r + 1] = token, runs[k]
    end
  end
  hset(KEYS[3], taken, c)
  hset(KEYS[4], tokens, c)
end)
return reply`;

/**
 * ARGV: identity, count, loop and token each, run records, channel, name, deadline. The records
 * go first, so that a loop's last run is written before it is released. Answers the indexes (from
 * 0) of the loops released; announces when there is one.
 */
export const RELEASE_LOOPS = `${CLUSTER}
local identity, n = ARGV[1], tonumber(ARGV[2])
local p = record(identity, 3 + 2 * n)
local reply, r, done = {1, nowText}, 2, {}
chunks(n, function(k) return ARGV[1 + 2 * k] end, function(names, offset)
  local o = redis.call('HMGET', KEYS[3], unpack(names))
  local tk = redis.call('HMGET', KEYS[4], unpack(names))
  local freed, f = {}, 0
  for k = 1, #names do
    local i = offset + k
    if not done[names[k]] and owns(o[k], tk[k], identity, ARGV[2 + 2 * i]) then
      done[names[k]] = true
      f = f + 1
      freed[f] = names[k]
      r = r + 1
      reply[r] = i - 1
    end
  end
  if f > 0 then redis.call('HDEL', KEYS[3], unpack(freed, 1, f)) end
end)
if r > 2 then redis.call('PUBLISH', ARGV[p], ARGV[p + 1]) end
return reply`;

/**
 * ARGV: identity, session, run records, channel, name, deadline. Status 0 when the session is not
 * alive. Removing the member frees its claims: they name a session that is no longer alive.
 */
export const LEAVE = `${CLUSTER}
if not alive(ARGV[1], ARGV[2]) then return {0, nowText} end
local p = record(ARGV[1], 3)
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[p], ARGV[p + 1])
return {1, nowText}`;

/**
 * ARGV: '1' then the loops, or '0' for every loop with a claim or a record; deadline. Writes
 * nothing. Five values a loop that has a claim or a record (the others are left out): its index
 * (from 0) among the loops given, or its name; the identity and token of its claim while the
 * claim's session is alive (nil, nil: none); its last run (nil: none); its report (nil: none).
 */
export const LOOP_RUNS = `${CLUSTER}
-- Every loop with a claim or a record, once each. The tokens outlive the claims, and a record is
-- only written under a token, so they name them all unless keys were lost one by one (evicted):
-- the owners and runs are read too.
local function known()
  local loops, n, seen = {}, 0, {}
  for _, key in ipairs({KEYS[4], KEYS[3], KEYS[5]}) do
    for _, loop in ipairs(redis.call('HKEYS', key)) do
      if not seen[loop] then
        seen[loop] = true
        n = n + 1
        loops[n] = loop
      end
    end
  end
  return loops
end
local given = ARGV[1] == '1'
local all = given and {} or known()
local n = given and #ARGV - 2 or #all
local function name(k)
  if given then return ARGV[k + 1] end
  return all[k]
end
local reply, r = {1, nowText}, 2
chunks(n, name, function(names, offset)
  local o = redis.call('HMGET', KEYS[3], unpack(names))
  local tk = redis.call('HMGET', KEYS[4], unpack(names))
  local runs = redis.call('HMGET', KEYS[5], unpack(names))
  local reports = redis.call('HMGET', KEYS[9], unpack(names))
  for k = 1, #names do
    if o[k] or tk[k] or runs[k] then
      -- The owner as CLAIM sees it: an owner record whose session is alive holds the loop.
      local by = o[k] and owner(o[k])
      local live = by and alive(by.identity, by.session) or false
      reply[r + 1] = given and offset + k - 1 or names[k]
      reply[r + 2] = live and by.identity
      reply[r + 3] = live and tk[k]
      reply[r + 4], reply[r + 5] = runs[k], reports[k]
      r = r + 5
    end
  end
end)
return reply`;
