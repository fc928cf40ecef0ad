import { Counter, type Registry } from 'prom-client';

/** Why a push was refused as a whole (the `reason` label of `rejected`). */
export type TriggerRejectReason =
  'unauthorized' | 'too_large' | 'malformed' | 'throttled' | 'error';

/**
 * Push-trigger metrics, registered on the engine's registry and labelled with the trigger name.
 * Records are counted once each: received = matched + filtered + duplicates (+ records of a push
 * that failed part-way, which the pusher sends again).
 */
export class TriggerMetrics {
  readonly received: Counter<'trigger'>;
  readonly matched: Counter<'trigger'>;
  readonly filtered: Counter<'trigger' | 'reason'>;
  readonly duplicates: Counter<'trigger'>;
  readonly rejected: Counter<'trigger' | 'reason'>;
  readonly testEvents: Counter<'trigger'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.received = new Counter({
      name: 'sluice_trigger_received_records_total',
      help: 'Records in pushes that passed the token check and parsed',
      labelNames: ['trigger'],
      registers,
    });
    this.matched = new Counter({
      name: 'sluice_trigger_matched_records_total',
      help: 'Records that matched and were queued as asynchronous invokes',
      labelNames: ['trigger'],
      registers,
    });
    this.filtered = new Counter({
      name: 'sluice_trigger_filtered_records_total',
      help: 'Records that did not match the trigger (reason: event, prefix, suffix)',
      labelNames: ['trigger', 'reason'],
      registers,
    });
    this.duplicates = new Counter({
      name: 'sluice_trigger_duplicate_records_total',
      help: 'Records already accepted within the deduplication window (not invoked again)',
      labelNames: ['trigger'],
      registers,
    });
    this.rejected = new Counter({
      name: 'sluice_trigger_rejected_requests_total',
      help: 'Pushes refused (reason: unauthorized, too_large, malformed, throttled, error)',
      labelNames: ['trigger', 'reason'],
      registers,
    });
    this.testEvents = new Counter({
      name: 'sluice_trigger_test_events_total',
      help: 's3:TestEvent pushes acknowledged',
      labelNames: ['trigger'],
      registers,
    });
  }
}
