import { describe, expect, it } from 'vitest';
import type { SourceRecord } from '../../src/connectors/types.ts';
import { LaneOrder, pipelineDepth } from '../../src/engine/lane-order.ts';

const record = (id: string, lane: string): SourceRecord => ({
  id,
  lane,
  event: {},
  sizeBytes: 2,
  timestampMs: 0,
  handle: id,
});

describe('LaneOrder: a lane keeps its order', () => {
  it('keeps the lanes of a batch busy until the batch frees them', () => {
    const lanes = new LaneOrder();
    const free = lanes.hold([record('a', 'p0'), record('b', 'p1'), record('c', 'p0')]);
    expect([...lanes.busyLanes].sort()).toEqual(['p0', 'p1']);
    free();
    expect(lanes.busyLanes.size).toBe(0);
  });

  it('never marks unordered records (lane "") busy', () => {
    const lanes = new LaneOrder();
    lanes.hold([record('a', ''), record('b', '')]);
    expect(lanes.busyLanes.size).toBe(0);
  });

  it('lets an ordered poller hand off one batch at a time, whatever depth is configured', () => {
    expect(pipelineDepth(true, 4)).toBe(1);
    expect(pipelineDepth(false, undefined)).toBe(2);
    expect(pipelineDepth(false, 4)).toBe(4);
    expect(pipelineDepth(false, 0)).toBe(1);
  });
});
