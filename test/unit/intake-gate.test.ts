import { describe, expect, it } from 'vitest';
import { IntakeGate, mayStartBatch } from '../../src/engine/intake-gate.ts';

describe('intake bound (records are never pulled that cannot be invoked soon)', () => {
  it('lets a poller gather while fewer batches wait than the invoke limit', () => {
    expect(mayStartBatch(0, 5)).toBe(true);
    expect(mayStartBatch(4, 5)).toBe(true);
    expect(mayStartBatch(5, 5)).toBe(false);
    expect(mayStartBatch(1_000, Number.POSITIVE_INFINITY)).toBe(true);
  });

  it('admits at once, without counting a wait, while the bound is open', async () => {
    const gate = new IntakeGate(() => 2);
    gate.enter();
    await expect(gate.admit(new AbortController().signal)).resolves.toBe(false);
  });

  it('holds a poller while the limit of batches wait, and lets it go when one passes', async () => {
    const gate = new IntakeGate(() => 2);
    gate.enter();
    gate.enter();
    let admitted: boolean | undefined;
    const pending = gate.admit(new AbortController().signal).then((waited) => (admitted = waited));
    await Promise.resolve();
    expect(gate.waitingPollers).toBe(1);
    expect(admitted).toBeUndefined();
    gate.leave();
    await pending;
    expect(admitted).toBe(true);
    expect(gate.waitingBatches).toBe(1);
  });

  it('lets waiting pollers go when the invoke limit rises', async () => {
    let limit = 1;
    const gate = new IntakeGate(() => limit);
    gate.enter();
    const pending = gate.admit(new AbortController().signal);
    await Promise.resolve();
    limit = 3;
    gate.wake();
    await expect(pending).resolves.toBe(true);
  });

  it('keeps a poller waiting when woken while the bound is still closed', async () => {
    const gate = new IntakeGate(() => 1);
    gate.enter();
    gate.enter();
    let done = false;
    const pending = gate.admit(new AbortController().signal).then(() => (done = true));
    gate.leave(); // one still waits: the bound (1) is still closed
    await Promise.resolve();
    await Promise.resolve();
    expect(done).toBe(false);
    expect(gate.waitingPollers).toBe(1);
    gate.leave();
    await pending;
    expect(done).toBe(true);
  });

  it('ends the wait when the poller is stopped (a disabled or stopping mapping)', async () => {
    const gate = new IntakeGate(() => 1);
    gate.enter();
    const abort = new AbortController();
    const pending = gate.admit(abort.signal);
    abort.abort();
    await expect(pending).resolves.toBe(true);
    expect(gate.waitingPollers).toBe(0);
  });
});
