import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors/lanchat-error.js';
import {
  DEFAULT_REPLAY_WINDOW_SIZE,
  MAX_REPLAY_WINDOW_SIZE,
  MIN_REPLAY_WINDOW_SIZE,
  ReplayWindow,
  type ReplayVerdict,
} from './replay-window.js';

const MAX_COUNTER = 2n ** 64n - 1n;

/**
 * The obvious replay window, as the oracle: every committed counter in a set, and the rule of
 * the spec applied to the highest one.
 */
class ReferenceWindow {
  readonly seen = new Set<bigint>();
  highest: bigint | undefined;
  accepted = 0;
  rejectedDuplicate = 0;
  rejectedTooOld = 0;

  constructor(readonly size: number) {}

  check(counter: bigint): ReplayVerdict {
    if (this.highest === undefined || counter > this.highest) return 'fresh';
    if (this.highest - counter >= BigInt(this.size)) return 'too-old';
    return this.seen.has(counter) ? 'duplicate' : 'fresh';
  }

  commit(counter: bigint): ReplayVerdict {
    const verdict = this.check(counter);
    if (verdict === 'fresh') {
      this.seen.add(counter);
      if (this.highest === undefined || counter > this.highest) this.highest = counter;
      this.accepted += 1;
    } else if (verdict === 'duplicate') {
      this.rejectedDuplicate += 1;
    } else {
      this.rejectedTooOld += 1;
    }
    return verdict;
  }
}

/** Commits every counter and returns the verdicts. */
function commitAll(window: ReplayWindow, counters: Iterable<bigint>): ReplayVerdict[] {
  return Array.from(counters, (counter) => window.commit(counter));
}

function* range(from: bigint, to: bigint): Generator<bigint> {
  for (let counter = from; counter < to; counter += 1n) yield counter;
}

function tallies(window: ReplayWindow | ReferenceWindow) {
  return {
    highest: window.highest,
    accepted: window.accepted,
    rejectedDuplicate: window.rejectedDuplicate,
    rejectedTooOld: window.rejectedTooOld,
  };
}

describe('ReplayWindow', () => {
  it('accepts counters in order, each once', () => {
    const window = new ReplayWindow();
    expect(window.size).toBe(DEFAULT_REPLAY_WINDOW_SIZE);
    expect(window.highest).toBeUndefined();
    expect(commitAll(window, range(0n, 5000n)).every((verdict) => verdict === 'fresh')).toBe(true);
    expect(window.highest).toBe(4999n);
    expect(window.accepted).toBe(5000);
  });

  it('rejects a duplicate: commit gives fresh, then duplicate', () => {
    const window = new ReplayWindow();
    expect(window.commit(7n)).toBe('fresh');
    expect(window.commit(7n)).toBe('duplicate');
    expect(window.check(7n)).toBe('duplicate');
    expect(window.commit(7n)).toBe('duplicate');
    expect(tallies(window)).toEqual({
      highest: 7n,
      accepted: 1,
      rejectedDuplicate: 2,
      rejectedTooOld: 0,
    });
  });

  it('accepts a reordered counter inside the window exactly once', () => {
    const window = new ReplayWindow({ size: 64 });
    expect(commitAll(window, [10n, 12n, 11n, 40n, 13n, 11n, 13n, 9n])).toEqual([
      'fresh',
      'fresh',
      'fresh',
      'fresh',
      'fresh',
      'duplicate',
      'duplicate',
      'fresh',
    ]);
    expect(window.highest).toBe(40n);
  });

  it('covers exactly [H - size + 1, H]', () => {
    for (const size of [64, 96, 2048]) {
      const window = new ReplayWindow({ size });
      const highest = 100_000n;
      window.commit(highest);
      const edge = highest - BigInt(size) + 1n;
      expect(window.check(edge)).toBe('fresh');
      expect(window.check(edge - 1n)).toBe('too-old');
      expect(window.commit(edge - 1n)).toBe('too-old');
      expect(window.commit(edge)).toBe('fresh');
      expect(window.commit(edge)).toBe('duplicate');
      // Moving H by one pushes the old edge out.
      window.commit(highest + 1n);
      expect(window.check(edge)).toBe('too-old');
      expect(window.check(edge + 1n)).toBe('fresh');
    }
  });

  it('clears the places of counters entering the window on a small advance', () => {
    const window = new ReplayWindow({ size: 64 });
    commitAll(window, range(0n, 64n)); // every bit of the ring set
    expect(window.commit(70n)).toBe('fresh');
    for (const counter of range(0n, 7n)) expect(window.check(counter)).toBe('too-old');
    for (const counter of range(7n, 64n)) expect(window.check(counter)).toBe('duplicate');
    for (const counter of range(64n, 70n)) expect(window.check(counter)).toBe('fresh');
    expect(window.check(70n)).toBe('duplicate');
  });

  it('forgets everything behind a jump of more than the window', () => {
    const window = new ReplayWindow({ size: 64 });
    commitAll(window, range(0n, 64n));
    // 0 to 63 share their ring places with 64 to 127 (and with every 64th counter after).
    expect(window.commit(64n + 64n + 5n)).toBe('fresh'); // window now [70, 133]
    for (const counter of range(70n, 133n)) expect(window.check(counter)).toBe('fresh');
    // Counters seen long ago are not fresh again: they are too old.
    for (const counter of range(0n, 64n)) expect(window.check(counter)).toBe('too-old');

    // A jump of 2^40 (far more than the ring) clears it in one pass.
    const far = 2n ** 40n + 3n;
    expect(window.commit(far)).toBe('fresh');
    for (const counter of range(far - 63n, far)) expect(window.check(counter)).toBe('fresh');
    expect(window.check(far - 64n)).toBe('too-old');
    expect(window.check(133n)).toBe('too-old');
  });

  it('keeps the bits of counters still inside the window across a jump of less than the window', () => {
    const window = new ReplayWindow({ size: 96 }); // a ring of 128 places for 96 counters
    commitAll(window, [0n, 31n, 32n, 95n]);
    expect(window.commit(127n)).toBe('fresh'); // window [32, 127]
    expect(window.check(31n)).toBe('too-old');
    expect(window.check(32n)).toBe('duplicate');
    expect(window.check(95n)).toBe('duplicate');
    expect(window.commit(128n + 32n)).toBe('fresh'); // window [65, 160]; 160 shares 32's place
    expect(window.check(95n)).toBe('duplicate');
    expect(window.check(127n)).toBe('duplicate');
    for (const counter of [65n, 94n, 96n, 128n, 159n]) expect(window.check(counter)).toBe('fresh');
  });

  it('takes counter 0 and counter 2^64 - 1', () => {
    const window = new ReplayWindow({ size: 64 });
    expect(window.commit(0n)).toBe('fresh');
    expect(window.commit(0n)).toBe('duplicate');
    expect(window.highest).toBe(0n);

    expect(window.commit(MAX_COUNTER)).toBe('fresh');
    expect(window.highest).toBe(MAX_COUNTER);
    expect(window.commit(MAX_COUNTER)).toBe('duplicate');
    expect(window.check(MAX_COUNTER - 63n)).toBe('fresh');
    expect(window.check(MAX_COUNTER - 64n)).toBe('too-old');
    expect(window.check(0n)).toBe('too-old');
    expect(window.commit(MAX_COUNTER - 1n)).toBe('fresh');
    expect(window.commit(MAX_COUNTER - 1n)).toBe('duplicate');
  });

  it('check() changes nothing, not even the tallies', () => {
    const window = new ReplayWindow({ size: 64 });
    expect(window.check(MAX_COUNTER)).toBe('fresh');
    expect(window.check(5n)).toBe('fresh');
    expect(tallies(window)).toEqual({
      highest: undefined,
      accepted: 0,
      rejectedDuplicate: 0,
      rejectedTooOld: 0,
    });
    window.commit(1000n);
    // A forged packet with a huge counter is checked, fails authentication, and is never
    // committed: the window stays where the honest packets put it.
    expect(window.check(MAX_COUNTER)).toBe('fresh');
    expect(window.check(1000n)).toBe('duplicate');
    expect(window.check(0n)).toBe('too-old');
    expect(tallies(window)).toEqual({
      highest: 1000n,
      accepted: 1,
      rejectedDuplicate: 0,
      rejectedTooOld: 0,
    });
    expect(window.commit(999n)).toBe('fresh');
  });

  it('tallies each verdict of commit()', () => {
    const window = new ReplayWindow({ size: 64 });
    commitAll(window, [100n, 100n, 99n, 36n, 37n, 35n, 0n, 99n, 101n]);
    expect(tallies(window)).toEqual({
      highest: 101n,
      accepted: 4,
      rejectedDuplicate: 2,
      rejectedTooOld: 3,
    });
  });

  it('checks its size', () => {
    for (const bad of [
      0,
      32,
      63,
      65,
      100,
      1000,
      65_568,
      131_072,
      -64,
      64.5,
      Number.NaN,
      Infinity,
    ]) {
      expect(() => new ReplayWindow({ size: bad })).toThrow(InvalidArgumentError);
    }
    for (const good of [MIN_REPLAY_WINDOW_SIZE, 96, 1024, 65_504, MAX_REPLAY_WINDOW_SIZE]) {
      expect(new ReplayWindow({ size: good }).size).toBe(good);
    }
    expect(new ReplayWindow({}).size).toBe(2048);
  });

  it('checks its counters, and changes nothing when one is out of range', () => {
    const window = new ReplayWindow({ size: 64 });
    window.commit(10n);
    for (const bad of [-1n, 2n ** 64n, 2n ** 100n, 5 as unknown as bigint]) {
      expect(() => window.check(bad)).toThrow(InvalidArgumentError);
      expect(() => window.commit(bad)).toThrow(InvalidArgumentError);
    }
    expect(tallies(window)).toEqual({
      highest: 10n,
      accepted: 1,
      rejectedDuplicate: 0,
      rejectedTooOld: 0,
    });
  });
});

/** Window sizes for the properties: mostly small, so that the edges are hit often. */
const sizeArbitrary = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(64, 96, 128, 160, 256) },
  { weight: 1, arbitrary: fc.integer({ min: 2, max: 64 }).map((words) => words * 32) },
  { weight: 1, arbitrary: fc.constantFrom(DEFAULT_REPLAY_WINDOW_SIZE, MAX_REPLAY_WINDOW_SIZE) },
);

/** Where a step moves the cursor the counters are drawn around, before drawing its counter. */
type Move =
  | { readonly kind: 'stay' }
  | { readonly kind: 'forward'; readonly by: number }
  | { readonly kind: 'about-a-window'; readonly plus: number }
  | { readonly kind: 'to'; readonly counter: bigint };

/** Which counter a step takes, relative to the cursor. */
type Pick =
  | { readonly kind: 'near'; readonly offset: number }
  | { readonly kind: 'at-edge'; readonly offset: number }
  | { readonly kind: 'behind'; readonly by: number }
  | { readonly kind: 'earlier-step'; readonly index: number };

interface Step {
  readonly move: Move;
  readonly pick: Pick;
  readonly commit: boolean;
}

const moveArbitrary: fc.Arbitrary<Move> = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ kind: 'stay' as const }) },
  {
    weight: 8,
    arbitrary: fc.integer({ min: 1, max: 40 }).map((by) => ({ kind: 'forward' as const, by })),
  },
  {
    weight: 2,
    arbitrary: fc
      .integer({ min: -3, max: 3 })
      .map((plus) => ({ kind: 'about-a-window' as const, plus })),
  },
  {
    weight: 1,
    arbitrary: fc
      .oneof(
        fc.bigInt({ min: 0n, max: 300n }),
        fc.bigInt({ min: MAX_COUNTER - 300n, max: MAX_COUNTER }),
        fc.bigInt({ min: 0n, max: MAX_COUNTER }),
      )
      .map((counter) => ({ kind: 'to' as const, counter })),
  },
);

const pickArbitrary: fc.Arbitrary<Pick> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.integer({ min: -8, max: 8 }).map((offset) => ({ kind: 'near' as const, offset })),
  },
  {
    weight: 3,
    arbitrary: fc
      .integer({ min: -3, max: 3 })
      .map((offset) => ({ kind: 'at-edge' as const, offset })),
  },
  {
    weight: 2,
    arbitrary: fc.integer({ min: 0, max: 600 }).map((by) => ({ kind: 'behind' as const, by })),
  },
  {
    weight: 3,
    arbitrary: fc.nat().map((index) => ({ kind: 'earlier-step' as const, index })),
  },
);

const stepArbitrary: fc.Arbitrary<Step> = fc.record({
  move: moveArbitrary,
  pick: pickArbitrary,
  commit: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, fc.constant(false)),
});

function clamp(counter: bigint): bigint {
  return counter < 0n ? 0n : counter > MAX_COUNTER ? MAX_COUNTER : counter;
}

/** Turns the steps into counters: duplicates, reorders, edges and jumps, all in range. */
function countersOf(steps: readonly Step[], size: number): bigint[] {
  const window = BigInt(size);
  const counters: bigint[] = [];
  let cursor = 0n;
  for (const { move, pick } of steps) {
    if (move.kind === 'forward') cursor = clamp(cursor + BigInt(move.by));
    else if (move.kind === 'about-a-window') cursor = clamp(cursor + window + BigInt(move.plus));
    else if (move.kind === 'to') cursor = move.counter;
    let counter: bigint;
    if (pick.kind === 'near') counter = cursor + BigInt(pick.offset);
    else if (pick.kind === 'at-edge') counter = cursor - window + 1n + BigInt(pick.offset);
    else if (pick.kind === 'behind') counter = cursor - BigInt(pick.by);
    else counter = counters[pick.index % Math.max(counters.length, 1)] ?? cursor;
    counters.push(clamp(counter));
  }
  return counters;
}

/** The smallest power of two at least `size`: the length of the window's ring, by its docs. */
function ringLength(size: number): bigint {
  let power = 1n;
  while (power < BigInt(size)) power *= 2n;
  return power;
}

describe('ReplayWindow properties', () => {
  it('gives the verdicts of the reference model at every step', () => {
    fc.assert(
      fc.property(sizeArbitrary, fc.array(stepArbitrary, { maxLength: 40 }), (size, steps) => {
        const window = new ReplayWindow({ size });
        const model = new ReferenceWindow(size);
        const counters = countersOf(steps, size);
        // Verdicts are gathered and compared once: vitest's expect costs more than a commit.
        const actual: ReplayVerdict[] = [];
        const expected: ReplayVerdict[] = [];
        for (const [index, counter] of counters.entries()) {
          actual.push(window.check(counter));
          expected.push(model.check(counter));
          if (steps[index]!.commit) {
            actual.push(window.commit(counter));
            expected.push(model.commit(counter));
          }
        }
        expect(actual).toEqual(expected);
        expect(tallies(window)).toEqual(tallies(model));

        // Probe what the steps may not have looked at: the edges, and the counters that share a
        // ring place with a committed one (a stale bit would show there as a false duplicate).
        const ring = ringLength(size);
        const probes = new Set<bigint>();
        if (model.highest !== undefined) {
          for (let delta = -2n; delta <= 2n; delta += 1n) {
            probes.add(model.highest + delta);
            probes.add(model.highest - BigInt(size) + 1n + delta);
          }
        }
        for (const seen of model.seen) {
          for (const alias of [seen - 1n, seen + 1n, seen + ring, seen - ring, seen + 2n * ring]) {
            probes.add(alias);
          }
        }
        const inRange = [...probes].filter((probe) => probe >= 0n && probe <= MAX_COUNTER);
        expect(inRange.map((probe) => window.check(probe))).toEqual(
          inRange.map((probe) => model.check(probe)),
        );
      }),
    );
  });

  it('accepts each counter of a sequence shuffled within blocks of at most a window, once', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(64, 96, 128),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 128 }),
        fc.oneof(
          fc.constant(0n),
          fc.bigInt({ min: 0n, max: MAX_COUNTER - 300n }),
          fc.constant(MAX_COUNTER - 299n),
        ),
        fc.integer(),
        (size, length, blockWish, base, seed) => {
          const block = Math.min(blockWish, size);
          const order = shuffledWithinBlocks(length, block, seed);
          const window = new ReplayWindow({ size });
          // One expect per pass, not per counter: vitest's expect costs more than a commit.
          const counters = order.map((position) => base + BigInt(position));
          expect(commitAll(window, counters)).toEqual(order.map(() => 'fresh'));
          expect(window.accepted).toBe(length);
          expect(window.highest).toBe(base + BigInt(length - 1));

          // The replay: everything is refused, inside the window as a duplicate, below as too old.
          const oldest = length - size;
          expect(commitAll(window, counters)).toEqual(
            order.map((position) => (position >= oldest ? 'duplicate' : 'too-old')),
          );
          expect(window.accepted).toBe(length);
        },
      ),
    );
  });
});

/**
 * 0 to length - 1, with each run of `block` positions shuffled among itself: no counter arrives
 * more than `block` - 1 behind the highest before it. A small xorshift stands in for a random
 * permutation so that a run costs no thousands of generated values; fast-check still picks the
 * seed and the sizes.
 */
function shuffledWithinBlocks(length: number, block: number, seed: number): number[] {
  const order = Array.from({ length }, (_, index) => index);
  let state = seed | 1;
  const next = (bound: number): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % bound;
  };
  for (let start = 0; start < length; start += block) {
    const end = Math.min(start + block, length);
    for (let index = end - 1; index > start; index -= 1) {
      const other = start + next(index - start + 1);
      [order[index], order[other]] = [order[other]!, order[index]!];
    }
  }
  return order;
}
