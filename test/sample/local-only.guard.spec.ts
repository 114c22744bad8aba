import type { ExecutionContext } from '@nestjs/common';
import { LocalOnlyGuard } from '../../sample/local-only.guard.js';

/* The sample's dashboard guard: a request is let through by its socket's peer, nothing else. */

/** An HTTP execution context whose request came from `remoteAddress`, as Express or Fastify hands it. */
function from(
  remoteAddress: string | undefined,
  headers: Record<string, string> = {},
  fastify = false,
): ExecutionContext {
  const node = { socket: { remoteAddress }, headers };
  const request = fastify ? { raw: node, headers, ip: '127.0.0.1' } : node;
  return {
    switchToHttp: () => ({ getRequest: () => request }),
  } as unknown as ExecutionContext;
}

const guard = new LocalOnlyGuard();

it.each(['127.0.0.1', '::1', '::ffff:127.0.0.1'])('lets %s through', (address) => {
  expect(guard.canActivate(from(address))).toBe(true);
  expect(guard.canActivate(from(address, {}, true))).toBe(true);
});

it.each(['10.0.0.7', '192.168.1.20', '::ffff:10.0.0.7', 'fe80::1', '127.0.0.2x', ''])(
  'refuses %s',
  (address) => {
    expect(guard.canActivate(from(address))).toBe(false);
  },
);

it('refuses a socket with no peer address (closed), and ignores forwarding headers', () => {
  expect(guard.canActivate(from(undefined))).toBe(false);
  const forged = { 'x-forwarded-for': '127.0.0.1', 'x-real-ip': '127.0.0.1' };
  expect(guard.canActivate(from('203.0.113.9', forged))).toBe(false);
  expect(guard.canActivate(from('203.0.113.9', forged, true))).toBe(false);
});
