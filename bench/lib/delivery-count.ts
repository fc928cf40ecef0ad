/**
 * Settled records by id, so a lane ends when every record was handled at least once — not when
 * the settle count reached N, which duplicates could fake — and reports the duplicates it saw.
 */
export class DeliveryCount {
  readonly #seen = new Set<string>();
  #total = 0;

  /** Records the ids; returns how many were new. */
  add(ids: Iterable<string>): number {
    const before = this.#seen.size;
    for (const id of ids) {
      this.#total += 1;
      this.#seen.add(id);
    }
    return this.#seen.size - before;
  }

  /** Distinct records settled. */
  get unique(): number {
    return this.#seen.size;
  }

  /** Settles beyond the first of a record. */
  get duplicates(): number {
    return this.#total - this.#seen.size;
  }
}
