/**
 * nestjs-wait: Kubernetes' `wait` package for NestJS. This barrel is the public surface of the
 * `nestjs-wait` entry point; `nestjs-wait/testing` adds `FakeClock`.
 */
export * from './wait/index.js';
export * from './polling/index.js';
export * from './leader/index.js';
export * from './cluster/index.js';
