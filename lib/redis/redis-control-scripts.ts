import { CLUSTER } from './redis-cluster-lua.js';

/*
 * The Lua scripts of RedisLeaseStore's loop controls (see ClusterStore.controlLoop), on the keys
 * that redis-cluster-lua.ts describes. A loop's control is the JSON of
 * {state, by, at, overrides, trigger, triggerAt}: `at` and `triggerAt` are the server's time in
 * ms as text, and `overrides` maps each field to the JSON text of its value. They stay text
 * because cjson writes a number with 14 significant digits: a time in ms with 3 decimals, or a
 * caller's number, would not come back as it went in. The merge is then one assignment a field,
 * and the value's text is the caller's. Internal.
 */

/**
 * ARGV: loop, state ('' unchanged), by, '1' when a trigger id follows ('0' not), the id, the
 * count of override fields ('-': no overrides), field and value text each, channel, name,
 * deadline. A trigger replaces the one kept, with the server's time; a change without one keeps
 * it. A record that does not decode to an object is replaced: it was not written here. The
 * version comes from the counter, never below the server's clock in microseconds (as sessions),
 * so it is greater than every earlier one even after Redis lost the cluster's keys. Answers the
 * new version.
 */
export const CONTROL_LOOP = `${CLUSTER}
local loop, state = ARGV[1], ARGV[2]
local text = redis.call('HGET', KEYS[7], loop)
local ok, c = false, nil
if text then ok, c = pcall(cjson.decode, text) end
if not ok or type(c) ~= 'table' then c = {} end
if state ~= '' then c.state, c.by, c.at = state, ARGV[3], nowText end
if ARGV[4] == '1' then c.trigger, c.triggerAt = ARGV[5], nowText end
local n, p = tonumber(ARGV[6]), 7
if n then
  local o = type(c.overrides) == 'table' and c.overrides or {}
  for i = 1, n do o[ARGV[5 + 2 * i]] = ARGV[6 + 2 * i] end
  c.overrides = o
  p = 7 + 2 * n
end
local version = counter(KEYS[8])
redis.call('HSET', KEYS[7], loop, cjson.encode(c))
redis.call('PUBLISH', ARGV[p], ARGV[p + 1])
return {1, nowText, version}`;

/**
 * ARGV: deadline. Answers the version ('0': none), then each loop and the JSON of its control:
 * read in one script, so that the version matches the controls it comes with.
 */
export const CONTROLS = `${CLUSTER}
local reply = {1, nowText, redis.call('GET', KEYS[8]) or '0'}
local all = redis.call('HGETALL', KEYS[7])
for i = 1, #all do reply[3 + i] = all[i] end
return reply`;
