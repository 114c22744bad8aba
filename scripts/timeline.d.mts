/** A recorded row of the timeline figure: a loop, and its runs as [start, end] in ms. */
export interface TimelineRow {
  label: string;
  note: string;
  runs: [number, number][];
}

/** The engine parts the figure runs. */
export interface TimelineEngine {
  FakeClock: new (start?: number) => unknown;
  until: unknown;
  nonSlidingUntil: unknown;
  jitterUntil: unknown;
}

export function recordTimeline(engine: TimelineEngine): Promise<TimelineRow[]>;
export function renderTimeline(rows: TimelineRow[]): string;
