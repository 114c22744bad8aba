/** The instrumentation scope of every meter and tracer. Internal. */
export const SCOPE = 'nestjs-wait';

/** Instrument names. Internal (documented in the README). */
export const METRIC = {
  runs: 'nestjs_wait.loop.runs',
  duration: 'nestjs_wait.loop.run.duration',
  inFlight: 'nestjs_wait.loop.runs_in_flight',
  failures: 'nestjs_wait.loop.consecutive_failures',
  leader: 'nestjs_wait.leader.is_leader',
} as const;

/** Attribute keys. Internal (documented in the README). */
export const ATTR = {
  loop: 'nestjs_wait.loop.name',
  outcome: 'nestjs_wait.run.outcome',
  iteration: 'nestjs_wait.run.iteration',
  identity: 'nestjs_wait.leader.identity',
} as const;

/** Instrument descriptions. Internal. */
export const telemetryMessages = {
  runs: 'Runs of a loop that settled, by outcome',
  duration: 'How long a run of a loop took, from its start until it settled',
  inFlight: 'Whether a run of the loop is in flight (1) or not (0)',
  failures: 'Failed runs of the loop since its last success',
  leader: 'Whether this replica holds the leader lease (1) or not (0)',
} as const;
