import type { Lease } from '../leader/lease-store.js';
import { messages } from '../leader/leader-messages.js';

/*
 * The Lua scripts of RedisLeaseStore. Values are 'nestjs-wait/1 <token> <holder>'; anything else
 * in a lease key is not trusted. Atomic on the server: a lease key is only ever taken, extended
 * or deleted by these scripts. Internal.
 */

/**
 * The start of every script: it reads the server's clock (TIME, allowed before writes since
 * Redis 5's effects replication), answers with it, and refuses to act after ARGV's deadline
 * (server ms, 0 for none), so a command queued on a paused or frozen server does nothing once its
 * caller gave up. Numbers go out as strings: Lua's tostring() would print 1.7e+15.
 */
export const CLOCK = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local nowText = string.format('%.3f', now)
local deadline = tonumber(ARGV[#ARGV])
if deadline > 0 and now > deadline then return {-1, nowText} end`;

/**
 * KEYS: lease, token counter. ARGV: identity, ttl, deadline. The counter has no expiry, and a
 * token is never below the server's clock in microseconds, so a new term's token is greater
 * than every earlier one even after the lease key expired or Redis lost its data.
 */
export const ACQUIRE = `${CLOCK}
local cur = redis.call('GET', KEYS[1])
if cur then
  local holder = string.match(cur, '^nestjs%-wait/1 %d+ (.+)$')
  if holder ~= ARGV[1] then
    if holder then return {0, nowText, holder} end
    return {0, nowText}
  end
end
local token = redis.call('INCR', KEYS[2])
local floor = tonumber(t[1]) * 1000000 + tonumber(t[2])
if token < floor then
  token = floor
  redis.call('SET', KEYS[2], string.format('%.0f', token))
end
local text = string.format('%.0f', token)
redis.call('SET', KEYS[1], 'nestjs-wait/1 ' .. text .. ' ' .. ARGV[1], 'PX', ARGV[2])
return {1, nowText, text}`;

/** KEYS: lease. ARGV: value, ttl, deadline. PEXPIRE counts from now: when the script runs. */
export const RENEW = `${CLOCK}
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return {redis.call('PEXPIRE', KEYS[1], ARGV[2]), nowText}
end
return {0, nowText}`;

/**
 * KEYS: lease. ARGV: holder, token, channel, name, deadline. Ends the holder's term with that
 * token or a later one (see LeaseStore.release).
 */
export const RELEASE = `${CLOCK}
local cur = redis.call('GET', KEYS[1])
if cur then
  local token, holder = string.match(cur, '^nestjs%-wait/1 (%d+) (.+)$')
  if holder == ARGV[1] and tonumber(token) >= tonumber(ARGV[2]) then
    redis.call('DEL', KEYS[1])
    redis.call('PUBLISH', ARGV[3], ARGV[4])
    return {1, nowText}
  end
end
return {0, nowText}`;

/** How every script's answer starts: 1 done, 0 not, -1 refused as late; the server's time in ms. */
export type Reply = readonly [number, string, ...unknown[]];

/** The lease scripts' answer: a {@link Reply}, then ACQUIRE's token (done) or holder (not done). */
export type ScriptReply = [number, string, string?];

/** The value of the lease key while `lease` is its term, as the scripts write and compare it. */
export function valueOf(lease: Lease): string {
  return `nestjs-wait/1 ${lease.token} ${lease.holder}`;
}

/** The fencing token in ACQUIRE's answer; throws when the counter held something else. */
export function toToken(text: string | undefined): number {
  const token = Number(text);
  if (!Number.isSafeInteger(token) || token <= 0) {
    throw new Error(messages.badCounter(text));
  }
  return token;
}
