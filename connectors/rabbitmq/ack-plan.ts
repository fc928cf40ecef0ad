/**
 * Which AMQP acks/nacks settle a set of deliveries with the fewest frames. Pure.
 *
 * `basic.ack(tag, multiple=true)` settles every outstanding delivery up to `tag` on the channel, so
 * it may only be used for the run of settled tags that starts at the lowest outstanding tag; the
 * rest go one by one. Batches taken from one queue in order mostly are such a run, so an ordered
 * mapping acks a whole batch with one frame.
 */
export interface AckPlan {
  /** One `multiple` frame settling every outstanding tag ≤ this; undefined = none. */
  upTo: number | undefined;
  /** Tags settled one by one. */
  singles: number[];
}

/**
 * @param outstanding tags delivered and not yet settled on the channel, ascending (delivery order)
 * @param settle the tags to settle now; tags not outstanding are ignored (already settled, or from
 *   another channel) so a tag is never settled twice — which RabbitMQ punishes with a channel
 *   error ("unknown delivery tag")
 */
export function planAcks(outstanding: Iterable<number>, settle: ReadonlySet<number>): AckPlan {
  let upTo: number | undefined;
  let runLength = 0;
  let inRun = true;
  const singles: number[] = [];
  for (const tag of outstanding) {
    if (!settle.has(tag)) {
      inRun = false;
      continue;
    }
    if (inRun) {
      upTo = tag;
      runLength += 1;
    } else singles.push(tag);
  }
  // A run of one is a single frame either way; keep it a plain ack.
  if (runLength === 1 && upTo !== undefined)
    return { upTo: undefined, singles: [upTo, ...singles] };
  return { upTo, singles };
}
