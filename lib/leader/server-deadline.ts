import { performance } from 'node:perf_hooks';

/**
 * Turns a caller's timeout into a deadline on the store server's clock, which the server checks
 * at the moment it would write: a statement that waited on a row lock, or a command queued on a
 * frozen server, then does nothing once its caller has given up. Internal: the Redis and
 * PostgreSQL stores use it.
 *
 * Why not the server's own "statement start" time: a call can wait on the client side first (a
 * pool with no free connection) and on the network, so a deadline counted from when the server
 * saw the call would let it write after the caller gave up. Instead every answer carries the
 * server's time, and the offset between the two clocks is estimated from below: the server read
 * its clock before this process received the answer, so `serverTime - localTimeOnReceipt` never
 * overstates it, and a deadline derived from it comes on the server no later than the caller's
 * give-up in real time (as long as neither clock is stepped between two answers; rates of
 * NTP-disciplined clocks differ by far less than a millisecond over a call).
 */
export class ServerDeadline {
  /** Server milliseconds minus local monotonic milliseconds, from the latest answer. */
  private offset: number | undefined = undefined;

  /** Local monotonic time in ms: when a call starts, pass this to {@link of}. */
  now(): number {
    return performance.now();
  }

  /** Whether an answer has told the server's time yet. */
  get calibrated(): boolean {
    return this.offset !== undefined;
  }

  /** An answer read the server's clock at `serverMs` (milliseconds since the epoch). */
  observe(serverMs: number): void {
    if (Number.isFinite(serverMs)) this.offset = serverMs - performance.now();
  }

  /**
   * The server time (ms since the epoch) after which a call started at `started` (from
   * {@link now}) with `timeout` must not write; `undefined` without a timeout or calibration.
   */
  of(started: number, timeout: number | undefined): number | undefined {
    if (timeout === undefined || this.offset === undefined) return undefined;
    return started + timeout + this.offset;
  }
}

/** What a store says when the server refused a call that reached it after its deadline. */
export class LeaseCallLateError extends Error {
  override readonly name = 'LeaseCallLateError';
}
