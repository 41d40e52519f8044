import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FifoQueue } from './fifo-queue.js';

describe('FifoQueue', () => {
  it('behaves as an array used as a queue, under any mix of push, shift, peek and clear', () => {
    const step = fc.oneof(
      fc.record({ op: fc.constant('push' as const), count: fc.integer({ min: 1, max: 3000 }) }),
      fc.record({ op: fc.constant('shift' as const), count: fc.integer({ min: 1, max: 3000 }) }),
      fc.record({ op: fc.constant('peek' as const), count: fc.integer({ min: 0, max: 3000 }) }),
      fc.record({ op: fc.constant('clear' as const), count: fc.constant(0) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 12 }), (steps) => {
        const queue = new FifoQueue<number>();
        const model: number[] = [];
        let next = 0;
        for (const { op, count } of steps) {
          if (op === 'push') {
            for (let index = 0; index < count; index++) {
              queue.push(next);
              model.push(next++);
            }
          } else if (op === 'shift') {
            const got: (number | undefined)[] = [];
            const want: (number | undefined)[] = [];
            for (let index = 0; index < count; index++) {
              got.push(queue.shift());
              want.push(model.shift());
            }
            expect(got).toEqual(want);
          } else if (op === 'peek') {
            expect(queue.peek(count)).toBe(model[count]);
          } else {
            queue.clear();
            model.length = 0;
          }
          expect(queue.length).toBe(model.length);
          expect(queue.peek()).toBe(model[0]);
        }
      }),
      { numRuns: 1_000 },
    );
  });

  it('keeps its order when it never empties (compaction while items wait)', () => {
    const queue = new FifoQueue<number>();
    queue.push(0);
    let outOfOrder = 0;
    for (let index = 1; index <= 100_000; index++) {
      queue.push(index);
      if (queue.shift() !== index - 1 || queue.length !== 1) outOfOrder++;
    }
    expect(outOfOrder).toBe(0);
    expect(queue.peek()).toBe(100_000);
  });
});
