import type { EventStore } from '@tether/runtime';
import type { ProjectionRunner } from '@tether/projector';

/** Prometheus text exposition: stream head, projection lag, and any extra gauges. */
export async function renderMetrics(
  store: EventStore,
  runners: ProjectionRunner<unknown>[],
  gauges: Record<string, number>,
): Promise<string> {
  const lines = [
    '# HELP tether_stream_last_seq Stream sequence of the newest event.',
    '# TYPE tether_stream_last_seq gauge',
    `tether_stream_last_seq ${await store.lastStreamSeq()}`,
    '# HELP tether_projection_lag Events not yet applied to a read model.',
    '# TYPE tether_projection_lag gauge',
  ];
  for (const r of runners) lines.push(`tether_projection_lag{projection="${r.projection.name}"} ${await r.lag()}`);
  for (const [name, value] of Object.entries(gauges)) lines.push(`# TYPE ${name} gauge`, `${name} ${value}`);
  return `${lines.join('\n')}\n`;
}
