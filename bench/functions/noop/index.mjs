// The benchmark function: returns at once, so what is measured is the engine's own overhead.
export const handler = async (event) => ({ ok: true, n: event?.n });
