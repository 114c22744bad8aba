// Type-checked in each throwaway app against the installed tarball's declarations.
import { Injectable } from '@nestjs/common';
import { Until, WaitModule, type LoopContext, type LoopStatus } from 'nestjs-wait';
import { WaitDashboardModule, type DashboardState } from 'nestjs-wait/dashboard';
import { WaitHealthIndicator } from 'nestjs-wait/terminus';
import { FakeClock } from 'nestjs-wait/testing';

@Injectable()
export class Worker {
  @Until('1m', { jitter: 0.1 })
  tick({ signal, iteration }: LoopContext): void {
    void signal;
    void iteration;
  }
}

export const module = WaitModule.forRoot({ clock: new FakeClock(), tracing: true });
export const state: LoopStatus['state'] = 'standby';
export type Indicator = WaitHealthIndicator;
export const dashboard = WaitDashboardModule.forRoot({ path: '/ops/wait', readOnly: true });
export type Dashboard = DashboardState['loops'][number]['name'];
