import type { BrokerEndpoint, BrokerName } from '../../test/brokers/types.ts';

/** What the progress line and the summary show for one source. */
export interface DemoCounts {
  records: number;
  batches: number;
  filtered: number;
}

/** One kind of traffic in the demo: a source sluice consumes and how to feed it. */
export interface DemoSource {
  /** Shown in the progress line and summary. */
  label: string;
  brokers: BrokerName[];
  /** Environment for sluice so config/demo.yaml reaches the brokers the demo started. */
  env(brokers: Record<string, BrokerEndpoint>): Record<string, string>;
  /** Creates queues/topics/buckets before sluice starts (`apiPort`: where sluice will listen). */
  prepare(brokers: Record<string, BrokerEndpoint>, apiPort: number): Promise<void>;
  /** Sends the sample traffic (reporting each send's count); returns how many should arrive. */
  send(
    brokers: Record<string, BrokerEndpoint>,
    onSent: (n: number) => void,
  ): Promise<{ sent: number; expected: number }>;
  /** Reads this source's progress from sluice's Prometheus text. */
  counts(metrics: string): DemoCounts;
}

/** Sums the samples of a Prometheus metric whose labels include `labels`. */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) {
      sum += Number(line.split(' ').pop());
    }
  }
  return sum;
}

/** Progress of an event source mapping, from its metrics. */
export function mappingCounts(text: string, mapping: string): DemoCounts {
  return {
    records: metric(text, 'sluice_mapping_invoked_events_total', { mapping }),
    batches: metric(text, 'sluice_mapping_batch_size_count', { mapping }),
    filtered: metric(text, 'sluice_mapping_filtered_out_events_total', { mapping }),
  };
}
