/**
 * The contract every connector must keep, as vitest tests. A connector's test file calls
 * `describeConnectorConformance(name, factory)`; the factory builds a fresh, empty source and a
 * started connector on it for each test. The same cases run against the in-memory connector (unit
 * project) and the real brokers (integration project), so the engine can rely on them:
 *
 * - delivery: what is published comes out of `fetch`, each record once, with an id and a lane;
 * - settle: succeeded records are gone for good, failed ones come back, dropped ones reach the
 *   failure path or come back — never silently lost; settling twice is harmless;
 * - lanes: order kept within a lane, `busyLanes` honoured;
 * - abort: an aborted fetch resolves `[]` promptly and loses nothing;
 * - stop: idempotent and awaitable, ends a waiting fetch, unsettled records return to the source;
 * - at-least-once after a crash: records of a connector abandoned without settle or stop are
 *   delivered to the next connector on the same source.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Connector, FetchRequest, SourceRecord } from '../../src/connectors/types.ts';

export interface ConformanceHarness {
  /** A started connector on a fresh, empty source. */
  connector: Connector;
  /**
   * Publishes bodies in order. `lane` is the ordering key where the source has one (SQS FIFO
   * message group, Kafka key, memory lane); sources without lanes ignore it.
   */
  publish(bodies: readonly string[], options?: { lane?: string }): Promise<void>;
  /** A record's data as published (SQS `body`, base64-decoded Kafka `value`, …). */
  bodyOf(record: SourceRecord): string;
  /** Opens and starts another connector on the same source (a second process, or a restart). */
  openConnector(): Promise<Connector>;
  /**
   * Lets reservations abandoned without settle run out: advance a fake clock, or wait out the
   * visibility timeout / session timeout. Called only where a test needs redelivery of records a
   * connector still holds.
   */
  expireReservations(): Promise<void>;
  /** Bodies the source's failure path holds (DLQ, dead-letter exchange, destination), if readable. */
  failurePath?(): Promise<string[]>;
  /** True when `publish`'s lane gives ordered lanes (FIFO queue, Kafka, memory). */
  lanes: boolean;
  /** The `SourceRecord.lane` a publish lane ends up in (Kafka: `topic-partition`). Default identity. */
  laneOf?(publishLane: string): string;
  /** `waitMs` of the fetches these tests make. Default 1000 (one SQS long-poll second). */
  fetchWaitMs?: number;
  /** Stops every connector the harness opened and removes the source. */
  cleanup(): Promise<void>;
}

export type ConformanceFactory = () => Promise<ConformanceHarness>;

interface CollectOptions {
  /** Settle each fetched batch as succeeded (default true). */
  settle?: boolean;
  busyLanes?: ReadonlySet<string>;
  /** After an empty fetch, let abandoned reservations expire (once) and keep going. */
  allowExpiry?: boolean;
  /** Give up after this many fetches. Default 30. */
  maxFetches?: number;
  /** Stop once this predicate holds for what was collected. */
  until?: (records: SourceRecord[]) => boolean;
}

const LONG_WAIT_MS = 20_000;

export function describeConnectorConformance(name: string, factory: ConformanceFactory): void {
  describe(`connector conformance: ${name}`, () => {
    let h: ConformanceHarness;
    beforeEach(async () => {
      h = await factory();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    const laneOf = (lane: string) => (h.laneOf ? h.laneOf(lane) : lane);
    const request = (overrides: Partial<FetchRequest> = {}): FetchRequest => ({
      max: 10,
      waitMs: h.fetchWaitMs ?? 1000,
      signal: new AbortController().signal,
      ...overrides,
    });
    const bodies = (records: readonly SourceRecord[]) => records.map((r) => h.bodyOf(r));

    async function collect(
      connector: Connector,
      count: number,
      options: CollectOptions = {},
    ): Promise<SourceRecord[]> {
      const out: SourceRecord[] = [];
      let expired = false;
      const done = options.until ?? ((records: SourceRecord[]) => records.length >= count);
      for (let i = 0; i < (options.maxFetches ?? 30) && !done(out); i++) {
        const batch = await connector.fetch(
          request({ max: Math.max(1, count - out.length), busyLanes: options.busyLanes }),
        );
        out.push(...batch);
        if (batch.length > 0 && (options.settle ?? true)) {
          await connector.settle({ succeeded: batch, failed: [], dropped: [] });
        }
        if (batch.length === 0 && options.allowExpiry && !expired) {
          expired = true;
          await h.expireReservations();
        }
      }
      return out;
    }

    /** Fetches a few times and settles whatever comes (to prove something does not come back). */
    async function drain(connector: Connector, fetches = 2): Promise<SourceRecord[]> {
      const out: SourceRecord[] = [];
      for (let i = 0; i < fetches; i++) {
        const batch = await connector.fetch(request());
        out.push(...batch);
        if (batch.length > 0) await connector.settle({ succeeded: batch, failed: [], dropped: [] });
      }
      return out;
    }

    describe('delivery', () => {
      it('delivers every published record once, with an id, a lane, an event and a size', async () => {
        const published = ['d-1', 'd-2', 'd-3', 'd-4', 'd-5'];
        await h.publish(published);
        const records = await collect(h.connector, published.length);
        expect(bodies(records).sort()).toEqual(published);
        expect(new Set(records.map((r) => r.id)).size).toBe(published.length);
        for (const record of records) {
          expect(record.id).toEqual(expect.any(String));
          expect(record.id).not.toBe('');
          expect(record.lane).toEqual(expect.any(String));
          expect(record.sizeBytes).toBe(Buffer.byteLength(JSON.stringify(record.event)));
          expect(Number.isFinite(record.timestampMs)).toBe(true);
        }
        // Succeeded and settled: nothing comes back, not even after reservations expire.
        await h.expireReservations();
        expect(await drain(h.connector)).toEqual([]);
      });

      it('builds the batch event as JSON bytes, records in the order given', async () => {
        await h.publish(['e-1', 'e-2']);
        const records = await collect(h.connector, 2, { settle: false });
        const reversed = [...records].reverse();
        const event: unknown = JSON.parse(h.connector.buildEvent(reversed).toString('utf8'));
        const text = JSON.stringify(event);
        const first = JSON.stringify(reversed[0]?.event);
        const second = JSON.stringify(reversed[1]?.event);
        expect(text.indexOf(first)).toBeGreaterThanOrEqual(0);
        expect(text.indexOf(first)).toBeLessThan(text.indexOf(second));
        await h.connector.settle({ succeeded: records, failed: [], dropped: [] });
      });

      it('never returns more than max records', async () => {
        await h.publish(['m-1', 'm-2', 'm-3']);
        const batch = await h.connector.fetch(request({ max: 1 }));
        expect(batch.length).toBeLessThanOrEqual(1);
        await h.connector.settle({ succeeded: batch, failed: [], dropped: [] });
        const rest = await collect(h.connector, 3 - batch.length);
        expect([...bodies(batch), ...bodies(rest)].sort()).toEqual(['m-1', 'm-2', 'm-3']);
      });

      it('returns [] for max 0 and for an already aborted signal', async () => {
        await h.publish(['z-1']);
        expect(await h.connector.fetch(request({ max: 0, waitMs: 0 }))).toEqual([]);
        expect(await h.connector.fetch(request({ signal: AbortSignal.abort() }))).toEqual([]);
        expect(bodies(await collect(h.connector, 1))).toEqual(['z-1']);
      });
    });

    describe('settle', () => {
      it('succeeded are gone for good, failed come back, dropped are not silently lost', async () => {
        await h.publish(['s-ok', 's-fail', 's-drop']);
        const records = await collect(h.connector, 3, { settle: false });
        const byBody = new Map(records.map((r) => [h.bodyOf(r), r]));
        const [ok, failed, dropped] = ['s-ok', 's-fail', 's-drop'].map((b) => byBody.get(b));
        if (!ok || !failed || !dropped)
          throw new Error(`expected 3 records, got ${[...byBody.keys()]}`);
        await h.connector.settle({
          succeeded: [ok],
          failed: [failed],
          dropped: [
            { record: dropped, reason: 'MaximumPayloadSizeExceeded', detail: 'conformance' },
          ],
        });

        // Failed: back for another try without waiting out a reservation.
        const again = await collect(h.connector, 1, { until: (r) => bodies(r).includes('s-fail') });
        expect(bodies(again)).toContain('s-fail');
        expect(again.find((r) => h.bodyOf(r) === 's-fail')?.id).toBe(failed.id);

        await h.expireReservations();
        const later = [...again, ...(await drain(h.connector, 3))];
        expect(bodies(later)).not.toContain('s-ok');
        const deadLettered = h.failurePath ? await h.failurePath() : [];
        expect(
          deadLettered.includes('s-drop') || bodies(later).includes('s-drop'),
          'a dropped record must reach the failure path or come back',
        ).toBe(true);
      });

      it('settling a record twice, or after it came back, does not throw', async () => {
        await h.publish(['t-1']);
        const [record] = await collect(h.connector, 1, { settle: false });
        if (!record) throw new Error('no record');
        await h.connector.settle({ succeeded: [], failed: [record], dropped: [] });
        const [again] = await collect(h.connector, 1, { settle: false });
        expect(again && h.bodyOf(again)).toBe('t-1');
        // The first delivery's handle is stale now; settling it must be harmless.
        await h.connector.settle({ succeeded: [record], failed: [], dropped: [] });
        if (again) await h.connector.settle({ succeeded: [again], failed: [], dropped: [] });
        if (again) await h.connector.settle({ succeeded: [again], failed: [], dropped: [] });
        await h.expireReservations();
        expect(await drain(h.connector)).toEqual([]);
      });

      it('heartbeat accepts running and already settled records', async () => {
        if (!h.connector.heartbeat) return;
        await h.publish(['h-1']);
        const records = await collect(h.connector, 1, { settle: false });
        await h.connector.heartbeat(records);
        await h.connector.settle({ succeeded: records, failed: [], dropped: [] });
        await h.connector.heartbeat(records);
        await h.expireReservations();
        expect(await drain(h.connector)).toEqual([]);
      });
    });

    describe('lanes', () => {
      it('keeps publish order within a lane and gives a lane one name', async (context) => {
        if (!h.lanes) return context.skip();
        await h.publish(['a-1', 'a-2', 'a-3', 'a-4'], { lane: 'a' });
        await h.publish(['b-1', 'b-2', 'b-3', 'b-4'], { lane: 'b' });
        const records = await collect(h.connector, 8);
        const inLane = (prefix: string) => records.filter((r) => h.bodyOf(r).startsWith(prefix));
        expect(bodies(inLane('a-'))).toEqual(['a-1', 'a-2', 'a-3', 'a-4']);
        expect(bodies(inLane('b-'))).toEqual(['b-1', 'b-2', 'b-3', 'b-4']);
        expect(new Set(inLane('a-').map((r) => r.lane))).toEqual(new Set([laneOf('a')]));
        expect(new Set(inLane('b-').map((r) => r.lane))).toEqual(new Set([laneOf('b')]));
      });

      it('failed records come back before the rest of their lane', async (context) => {
        if (!h.lanes) return context.skip();
        await h.publish(['f-1', 'f-2', 'f-3'], { lane: 'f' });
        // One fetch: a FIFO source holds the rest of a lane back while part of it is in flight.
        const first = await h.connector.fetch(request({ max: 3 }));
        const [head, ...tail] = first;
        if (!head) throw new Error('no record');
        expect(h.bodyOf(head)).toBe('f-1');
        await h.connector.settle({ succeeded: [head], failed: tail, dropped: [] });
        const rest = await collect(h.connector, 2);
        expect(bodies(rest)).toEqual(['f-2', 'f-3']);
      });

      it('never returns records of a busy lane', async (context) => {
        if (!h.lanes) return context.skip();
        await h.publish(['x-1', 'x-2'], { lane: 'x' });
        await h.publish(['y-1', 'y-2'], { lane: 'y' });
        const busyLanes = new Set([laneOf('x')]);
        const free = await collect(h.connector, 2, { busyLanes });
        expect(bodies(free)).toEqual(['y-1', 'y-2']);
        // Once the lane is free its records come, in order.
        const released = await collect(h.connector, 2, { allowExpiry: true });
        expect(bodies(released)).toEqual(['x-1', 'x-2']);
      });
    });

    describe('abort and stop', () => {
      it('an aborted fetch resolves [] and loses nothing', async () => {
        const controller = new AbortController();
        const pending = h.connector.fetch(
          request({ waitMs: LONG_WAIT_MS, signal: controller.signal }),
        );
        await sleep(200); // let the fetch start waiting (not a timing assertion)
        controller.abort();
        // Published after the abort: a fetch that ignored it would return this record.
        await h.publish(['late-1']);
        expect(await pending).toEqual([]);
        const records = await collect(h.connector, 1, { allowExpiry: true });
        expect(bodies(records)).toEqual(['late-1']);
      });

      it('stop ends a waiting fetch, is idempotent and awaitable; fetch after stop is []', async () => {
        const pending = h.connector.fetch(request({ waitMs: LONG_WAIT_MS }));
        await sleep(200);
        const stops = [h.connector.stop(), h.connector.stop()];
        await h.publish(['after-stop']);
        expect(await pending).toEqual([]);
        await Promise.all(stops);
        await h.connector.stop();
        expect(await h.connector.fetch(request({ waitMs: 0 }))).toEqual([]);
        const next = await h.openConnector();
        const records = await collect(next, 1, { allowExpiry: true });
        expect(bodies(records)).toEqual(['after-stop']);
      });

      it('unsettled records return to the source after stop', async () => {
        await h.publish(['u-1', 'u-2']);
        const held = await collect(h.connector, 2, { settle: false });
        expect(held).toHaveLength(2);
        await h.connector.stop();
        const next = await h.openConnector();
        const records = await collect(next, 2, { allowExpiry: true });
        expect(bodies(records).sort()).toEqual(['u-1', 'u-2']);
      });

      it('settle and heartbeat after stop do not throw', async () => {
        await h.publish(['late-settle']);
        const held = await collect(h.connector, 1, { settle: false });
        await h.connector.stop();
        await h.connector.heartbeat?.(held);
        await h.connector.settle({ succeeded: [], failed: held, dropped: [] });
      });
    });

    describe('at-least-once', () => {
      it('records of a connector abandoned without settle reach the next connector', async () => {
        await h.publish(['c-1', 'c-2', 'c-3']);
        const held = await collect(h.connector, 3, { settle: false });
        expect(bodies(held).sort()).toEqual(['c-1', 'c-2', 'c-3']);
        // The first connector "crashes": no settle, no stop (the harness cleans it up later).
        const next = await h.openConnector();
        const records = await collect(next, 3, { allowExpiry: true });
        expect(bodies(records).sort()).toEqual(['c-1', 'c-2', 'c-3']);
        expect(records.map((r) => r.id).sort()).toEqual(held.map((r) => r.id).sort());
      });
    });
  });
}
