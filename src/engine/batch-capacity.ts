import type { Reservation } from '../invoker/concurrency.ts';
import type { InvokeInput, Invoker } from '../invoker/invoker.ts';
import type { InvokeResult } from '../invoker/types.ts';

/** What passing the invoke gate yields: the function's unit and the gate's way back. */
export interface PassedInvokeGate {
  reservation: Reservation;
  releaseGate: () => void;
}

export interface BatchCapacityParts {
  /** Gives back the mapping slot taken by `MappingGates.claim`. */
  releaseSlot: () => void;
  /** Gates 5 and 6 of mapping-gates.ts; holds neither when it throws. */
  passInvokeGate: (signal: AbortSignal) => Promise<PassedInvokeGate>;
  invoker: Invoker;
}

/**
 * The one owner of what a batch holds of its mapping's and function's concurrency: the mapping
 * slot (from the claim), the invoke gate and the function's reservation (from
 * `passInvokeGate`). Each is given back exactly once, whatever path the batch takes: at the end
 * of its invoke, or by `release()` — idempotent, so every path may call it.
 */
export class BatchCapacity {
  readonly #parts: BatchCapacityParts;
  #slotHeld = true;
  #gate: PassedInvokeGate | undefined;

  constructor(parts: BatchCapacityParts) {
    this.#parts = parts;
  }

  /**
   * Waits for the invoke gate, then the function's unit (in that order: mapping-gates.ts), and
   * resolves to the batch's one invoke (call it once). On a throw neither is held (the slot
   * still is).
   */
  async passInvokeGate(
    signal: AbortSignal,
  ): Promise<(input: InvokeInput) => Promise<InvokeResult>> {
    const gate = await this.#parts.passInvokeGate(signal);
    this.#gate = gate;
    return (input) => this.#invoke(gate, input);
  }

  /**
   * `Invoker.run` owns the reservation from here and gives it back when the invoke ends. The gate
   * and the slot are given back then too: the settle that follows needs no concurrency.
   */
  async #invoke(gate: PassedInvokeGate, input: InvokeInput): Promise<InvokeResult> {
    this.#gate = undefined;
    try {
      return await this.#parts.invoker.run(gate.reservation, input);
    } finally {
      gate.releaseGate();
      this.release();
    }
  }

  /** Gives back whatever is still held (reservation, gate, slot); idempotent. */
  release(): void {
    const gate = this.#gate;
    this.#gate = undefined;
    if (gate) {
      gate.reservation.release();
      gate.releaseGate();
    }
    if (this.#slotHeld) {
      this.#slotHeld = false;
      this.#parts.releaseSlot();
    }
  }
}
