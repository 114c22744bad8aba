import type { ConfigService } from '@nestjs/config';

/** The kubelet's garbage collection settings, from the environment (or a `.env` file). */
export interface GcSettings {
  /** `CONTAINER_GC_PERIOD`: the kubelet's ContainerGCPeriod. Default `'1m'`. */
  containerGcPeriod: string;
  /** `IMAGE_GC_PERIOD`: the kubelet's ImageGCPeriod. Default `'5m'`. */
  imageGcPeriod: string;
  /** `IMAGE_GC_HIGH_THRESHOLD_PERCENT`: disk usage that starts image GC; 100 disables it. Default 85. */
  imageGcHighThresholdPercent: number;
  /** `IMAGE_GC_LOW_THRESHOLD_PERCENT`: image GC frees space down to this usage. Default 80. */
  imageGcLowThresholdPercent: number;
  /** `SHUTDOWN_TIMEOUT`: how long shutdown waits for a GC run in flight. Default `'10s'`. */
  shutdownTimeout: string;
}

export function gcSettings(config: ConfigService): GcSettings {
  const high = percent(config, 'IMAGE_GC_HIGH_THRESHOLD_PERCENT', 85);
  const low = percent(config, 'IMAGE_GC_LOW_THRESHOLD_PERCENT', 80);
  if (low >= high) {
    throw new Error(
      `IMAGE_GC_LOW_THRESHOLD_PERCENT (${low}) must be less than IMAGE_GC_HIGH_THRESHOLD_PERCENT (${high})`,
    );
  }
  return {
    // Durations are Go-style strings ('200ms', '1m30s'); WaitModule checks them at bootstrap.
    containerGcPeriod: config.get<string>('CONTAINER_GC_PERIOD', '1m'),
    imageGcPeriod: config.get<string>('IMAGE_GC_PERIOD', '5m'),
    imageGcHighThresholdPercent: high,
    imageGcLowThresholdPercent: low,
    shutdownTimeout: config.get<string>('SHUTDOWN_TIMEOUT', '10s'),
  };
}

function percent(config: ConfigService, key: string, fallback: number): number {
  const raw = config.get<string>(key);
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 100) {
    throw new Error(`${key} must be a whole number from 0 to 100; got ${JSON.stringify(raw)}`);
  }
  return value;
}
