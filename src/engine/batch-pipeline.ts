import type { Logger } from 'pino';
import type { Connector, SettleOutcome, SourceRecord } from '../connectors/types.ts';
import type { InvokeInput } from '../invoker/invoker.ts';
import type { InvokeResult } from '../invoker/types.ts';
import type { MappingMetrics } from '../observability/mapping-metrics.ts';
import type { BatchCapacity } from './batch-capacity.ts';
import type { CollectedBatch } from './batch-collector.ts';
import { judgeBatch, type BatchVerdict } from './batch-result.ts';
import type { BatchSettlement } from './batch-settlement.ts';
import type { InvokeLimit } from './invoke-limit.ts';
import type { LaneOrder } from './lane-order.ts';
import type { RunnerSettings } from './runner-settings.ts';

export interface BatchPipelineOptions {
  mapping: string;
  connector: Connector;
  /** The mapping's settings now (they change at run time). */
  settings: () => RunnerSettings;
  /** Turns an itemIdentifier into a record id (Kafka's `{partition, offset}`); default: strings. */
  identify?: ((itemIdentifier: unknown) => string | undefined) | undefined;
  /** Told each batch's records and outcome (the throughput tuner's input). */
  invokeLimit: InvokeLimit;
  lanes: LaneOrder;
  settlement: BatchSettlement;
  /** Told whether each judged batch failed as a whole (the poller scaling's input). */
  onJudged: (functionError: boolean) => void;
  /** The mapping's `LastProcessingResult`. */
  report: (result: string) => void;
  metrics: MappingMetrics;
  logger: Logger;
}

/**
 * What happens to a gathered batch (already filtered by the collector): invoke → judge
 * (`judgeBatch`) → failure policy and settle (`BatchSettlement.complete`). The batch's
 * `BatchCapacity` holds its mapping slot on the way in; the pipeline passes the invoke gate with
 * it and the capacity gives everything back when the invoke ends (mapping-gates.ts).
 */
export class BatchPipeline {
  readonly #o: BatchPipelineOptions;
  #inFlight = 0;

  constructor(options: BatchPipelineOptions) {
    this.#o = options;
  }

  /** Batches being invoked or settled now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Invokes and settles one batch; if it throws first, its records return on their own. */
  async process(batch: CollectedBatch, capacity: BatchCapacity, signal: AbortSignal) {
    let settled = false;
    try {
      settled = await this.#invokeAndSettle(batch, capacity, signal);
    } finally {
      // Handling failed before its settle: the records return to the source on their own.
      if (!settled)
        this.#o.settlement.release([...batch.records, ...batch.oversized, ...batch.filteredOut]);
    }
  }

  /** Returns once the batch is settled (true) — false only when it throws before settling. */
  async #invokeAndSettle(
    { records: matched, oversized, filteredOut }: CollectedBatch,
    capacity: BatchCapacity,
    signal: AbortSignal,
  ): Promise<boolean> {
    const { metrics: m, mapping, settlement } = this.#o;
    const dropped: SettleOutcome['dropped'] = oversized.map((record) => ({
      record,
      reason: 'MaximumPayloadSizeExceeded' as const,
    }));
    if (dropped.length > 0)
      m.dropped.inc({ mapping, reason: 'MaximumPayloadSizeExceeded' }, dropped.length);
    // Filtered before the batcher (batch-collector.ts): `matched` is the batch, and a record
    // the filter dropped never becomes a MaximumPayloadSizeExceeded failure.
    if (filteredOut.length > 0) m.filteredOut.inc({ mapping }, filteredOut.length);
    if (matched.length === 0) {
      // Nothing to invoke: no function concurrency is ever reserved for it.
      capacity.release();
      await settlement.settle({ succeeded: filteredOut, failed: [], dropped });
      return true;
    }
    const endInFlight = this.#startInFlight(matched);
    try {
      // Built before any unit is held, so a throw here can leave none behind.
      const payload = this.#o.connector.buildEvent(matched);
      let invoke: (input: InvokeInput) => Promise<InvokeResult>;
      try {
        invoke = await capacity.passInvokeGate(signal);
      } catch (err) {
        // Never handed to the function (stopping, or its concurrency set to 0 meanwhile): the
        // records go back to the source now rather than when their visibility expires.
        if (!signal.aborted) this.#o.report(`throttled: ${(err as Error).message}`);
        capacity.release();
        await settlement.settle({ succeeded: filteredOut, failed: [], released: matched, dropped });
        return true;
      }
      const verdict = await this.#invokeAndJudge(invoke, payload, matched);
      await settlement.complete({ filteredOut, dropped }, verdict);
      return true;
    } finally {
      endInFlight();
    }
  }

  /** Runs the invoke (giving back the capacity when it ends) and judges its result. */
  async #invokeAndJudge(
    invoke: (input: InvokeInput) => Promise<InvokeResult>,
    payload: Buffer,
    matched: SourceRecord[],
  ): Promise<BatchVerdict> {
    const { metrics: m, mapping } = this.#o;
    let result: InvokeResult | undefined;
    let invokeFailure = '';
    try {
      result = await invoke({ payload });
    } catch (err) {
      // The engine could not run the invoke (environment failed to start…): records go back.
      invokeFailure = `invoke failed: ${(err as Error).message}`;
      this.#o.report(invokeFailure);
    }
    m.invoked.inc({ mapping }, matched.length);
    const s = this.#o.settings();
    const verdict: BatchVerdict = result
      ? judgeBatch(matched, result, {
          reportBatchItemFailures: s.reportBatchItemFailures,
          ordered: s.ordered,
          ...(this.#o.identify ? { identify: this.#o.identify } : {}),
        })
      : { succeeded: [], failed: matched, functionError: true, reason: invokeFailure };
    this.#o.invokeLimit.completed(matched.length, !verdict.functionError);
    this.#o.onJudged(verdict.functionError);
    if (verdict.failed.length > 0) m.failedInvoke.inc({ mapping }, verdict.failed.length);
    this.#o.report(verdict.failed.length === 0 ? 'OK' : (verdict.reason ?? 'Function call failed'));
    return verdict;
  }

  /** Counts the batch in flight and holds its lanes until it is settled; returns the undo. */
  #startInFlight(matched: SourceRecord[]): () => void {
    const { metrics: m, mapping } = this.#o;
    const freeLanes = this.#o.lanes.hold(matched);
    this.#inFlight += 1;
    m.inFlightBatches.inc({ mapping });
    m.batchSize.observe({ mapping }, matched.length);
    m.batchWait.observe(
      { mapping },
      Math.max(0, Date.now() - Math.min(...matched.map((r) => r.timestampMs))) / 1000,
    );
    return () => {
      // Lanes stay busy until their records are settled, so a lane's next batch sees the outcome.
      freeLanes();
      this.#inFlight -= 1;
      m.inFlightBatches.dec({ mapping });
    };
  }
}
