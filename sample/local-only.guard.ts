import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';

/** The loopback addresses as Node reports a socket's peer (IPv4, IPv6, IPv4-mapped IPv6). */
const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/**
 * Lets a request through only when it comes from this machine. The sample mounts the dashboard
 * read-write (its buttons stop and trigger the garbage collectors), which nobody on the network
 * should reach without an admin guard of the app's own; this stands in for one.
 *
 * It reads the TCP peer of the socket, not `req.ip` or `X-Forwarded-For`: a client sets those
 * headers as it likes, and `req.ip` follows them under Express's `trust proxy`. (Behind a reverse
 * proxy on the same machine every request comes from loopback, so there the app needs a real
 * guard.) Express hands the Node request itself; Fastify its request with the Node one as `raw`.
 */
@Injectable()
export class LocalOnlyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<IncomingMessage | { raw: IncomingMessage }>();
    const node = 'raw' in request ? request.raw : request;
    return LOOPBACK.has(node.socket?.remoteAddress ?? '');
  }
}
