/** One term of a lease: who holds it, and the fencing token the store gave that term. */
export interface Lease {
  readonly holder: string;
  /** Greater than the token of every earlier term of the same lease, on the same store. */
  readonly token: number;
}

/** What {@link LeaseStore.acquire} found. */
export type AcquireResult =
  | { readonly acquired: true; readonly lease: Lease }
  | {
      readonly acquired: false;
      /**
       * The identity holding the lease, or `undefined` when the key or row holds something that no
       * elector wrote: it is not trusted, and not taken over until it expires.
       */
      readonly holder: string | undefined;
    };

/** How long the caller of a {@link LeaseStore} call waits for its answer. */
export interface LeaseCallOptions {
  /**
   * The caller gives up on the call this many milliseconds after making it, and from then on
   * treats its outcome as unknown. A store must make sure that the call takes effect before
   * then or never: a statement that waited on a row lock, or a command queued on a frozen
   * server, must not write once it is too late. Default: no limit (the call may land whenever
   * the server gets to it).
   */
  readonly timeout?: number;
}

/** A subscription to a lease's release announcements. */
export interface LeaseWatch {
  /** False once the subscription was lost (a dropped connection); the elector then watches again. */
  readonly active: boolean;
  close(): Promise<void>;
}

/**
 * Where leases live: the in-memory store (one process), `RedisLeaseStore` from
 * `nestjs-wait/redis` or `PostgresLeaseStore` from `nestjs-wait/postgres`, or your own.
 *
 * Each operation must be atomic on the store's side, and a lease's time to live must be kept by
 * the store's clock (not the caller's), counted from the moment the store writes it (not from
 * when the call arrived), so that the replicas' clocks never have to agree. A call must take
 * effect before its `timeout` or not at all ({@link LeaseCallOptions}).
 */
export interface LeaseStore {
  /**
   * Takes lease `name` for `identity` for `ttl` milliseconds if it is free (never held, expired or
   * released) or already held by `identity` (a term this elector lost track of: an answer that
   * came too late, a renewal cut off). Either way the taker starts a new term with a new token,
   * greater than every earlier one; that must hold even after the lease's key or row is gone.
   */
  acquire(
    name: string,
    identity: string,
    ttl: number,
    options?: LeaseCallOptions,
  ): Promise<AcquireResult>;
  /**
   * Extends the lease to `ttl` milliseconds from the moment the store writes it, if `lease` is
   * still its term; false otherwise.
   */
  renew(name: string, lease: Lease, ttl: number, options?: LeaseCallOptions): Promise<boolean>;
  /**
   * Ends the lease if `lease.holder` holds it with `lease.token` or a greater token (a term of
   * its own it never heard of: an acquire that landed after its caller gave up), and announces
   * it to watchers; false otherwise. An elector releases only when it shuts down, so ending its
   * later terms too is what it wants.
   */
  release(name: string, lease: Lease, options?: LeaseCallOptions): Promise<boolean>;
  /**
   * Optional: calls `onReleased` whenever lease `name` is released, so that a follower takes over
   * at once instead of at its next retry.
   */
  watch?(name: string, onReleased: () => void): Promise<LeaseWatch>;
  /** Optional: frees what the store opened itself (connections); called once, at shutdown. */
  close?(): Promise<void>;
}
