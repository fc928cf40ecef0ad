import { describe, expect, it } from 'vitest';
import { BatchCapacity } from '../../src/engine/batch-capacity.ts';
import type { Invoker } from '../../src/invoker/invoker.ts';
import type { InvokeResult } from '../../src/invoker/types.ts';

/** A capacity over counting fakes: how often each held thing was given back. */
function capacityWith(options: { gateThrows?: boolean; invokeThrows?: boolean } = {}) {
  const given = { slot: 0, gate: 0, reservation: 0, runs: 0 };
  const reservation = { functionName: 'fn', release: () => void (given.reservation += 1) };
  const invoker = {
    run: async () => {
      given.runs += 1;
      // Invoker.run owns the reservation: it gives it back when the invoke ends.
      reservation.release();
      if (options.invokeThrows) throw new Error('environment failed to start');
      return { payload: Buffer.from('null') } as unknown as InvokeResult;
    },
  } as unknown as Invoker;
  const capacity = new BatchCapacity({
    releaseSlot: () => void (given.slot += 1),
    passInvokeGate: async () => {
      if (options.gateThrows) throw new Error('reserved concurrency is 0');
      return { reservation, releaseGate: () => void (given.gate += 1) };
    },
    invoker,
  });
  return { capacity, given };
}

const signal = new AbortController().signal;

describe('BatchCapacity: one owner of what a batch holds', () => {
  it('gives back the slot, the gate and the reservation once each when the invoke ends', async () => {
    const { capacity, given } = capacityWith();
    const invoke = await capacity.passInvokeGate(signal);
    await invoke({ payload: Buffer.from('{}') });
    capacity.release();
    capacity.release();
    expect(given).toEqual({ slot: 1, gate: 1, reservation: 1, runs: 1 });
  });

  it('gives everything back once when the invoke throws', async () => {
    const { capacity, given } = capacityWith({ invokeThrows: true });
    const invoke = await capacity.passInvokeGate(signal);
    await expect(invoke({ payload: Buffer.from('{}') })).rejects.toThrow('failed to start');
    capacity.release();
    expect(given).toEqual({ slot: 1, gate: 1, reservation: 1, runs: 1 });
  });

  it('gives back only the slot when the invoke gate refuses the batch', async () => {
    const { capacity, given } = capacityWith({ gateThrows: true });
    await expect(capacity.passInvokeGate(signal)).rejects.toThrow('reserved concurrency is 0');
    capacity.release();
    capacity.release();
    expect(given).toEqual({ slot: 1, gate: 0, reservation: 0, runs: 0 });
  });

  it('gives back the reservation and the gate of a batch abandoned before its invoke', async () => {
    const { capacity, given } = capacityWith();
    await capacity.passInvokeGate(signal);
    capacity.release();
    capacity.release();
    expect(given).toEqual({ slot: 1, gate: 1, reservation: 1, runs: 0 });
  });

  it('gives back the slot of a batch with nothing to invoke once, however often asked', () => {
    const { capacity, given } = capacityWith();
    capacity.release();
    capacity.release();
    expect(given).toEqual({ slot: 1, gate: 0, reservation: 0, runs: 0 });
  });
});
