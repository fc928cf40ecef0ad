import type { BrokerEndpoint, BrokerName } from '../../test/brokers/types.ts';

/** One kind of traffic in the demo: a source sluice consumes and how to feed it. */
export interface DemoSource {
  /** Shown in the progress line and summary. */
  label: string;
  /** The mapping (or trigger) name in config/demo.yaml whose metrics count this source. */
  mapping: string;
  brokers: BrokerName[];
  /** Environment for sluice so config/demo.yaml reaches the brokers the demo started. */
  env(brokers: Record<string, BrokerEndpoint>): Record<string, string>;
  /** Creates queues/topics before sluice starts. */
  prepare(brokers: Record<string, BrokerEndpoint>): Promise<void>;
  /** Sends the sample traffic (reporting each send's count); returns how many should arrive. */
  send(
    brokers: Record<string, BrokerEndpoint>,
    onSent: (n: number) => void,
  ): Promise<{ sent: number; expected: number }>;
}
