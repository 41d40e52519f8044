import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concat } from '../../test/chunking.js';
import { InvalidArgumentError, LanchatError } from '../errors/lanchat-error.js';
import type { Endpoint } from './endpoint.js';
import * as testing from './index.js';
import {
  ConditionNotMetError,
  type Direction,
  EndpointContractError,
  LinkOverflowError,
  TestingPair,
  TestingPairError,
  type TestingPairEvent,
  type TestingPairOptions,
} from './index.js';

/** What an endpoint received, and when. */
interface Received {
  readonly data: Uint8Array;
  readonly now: number;
}

/**
 * A scriptable endpoint: it sends what is queued with `send()` (or scheduled with `sendAt()`, by
 * a timer), records what it receives and when its timer fires, and runs optional hooks.
 */
class FakeEndpoint implements Endpoint {
  readonly received: Received[] = [];
  readonly timeouts: number[] = [];
  /** A deadline of the test's own, on top of the schedule. */
  deadline: number | undefined = undefined;
  onReceive: ((data: Uint8Array, now: number) => void) | undefined = undefined;
  onTimeout: ((now: number) => void) | undefined = undefined;
  readonly #outbox: Uint8Array[] = [];
  readonly #schedule: { readonly at: number; readonly data: Uint8Array }[] = [];

  /** Queues transmissions for the next poll. */
  send(...data: Uint8Array[]): this {
    this.#outbox.push(...data);
    return this;
  }

  /** Queues `data` for sending at time `at`, in order of call for equal times. */
  sendAt(at: number, data: Uint8Array): this {
    let index = this.#schedule.length;
    while (index > 0 && this.#schedule[index - 1]!.at > at) index--;
    this.#schedule.splice(index, 0, { at, data });
    return this;
  }

  receive(data: Uint8Array, now: number): void {
    this.received.push({ data: data.slice(), now });
    this.onReceive?.(data, now);
  }

  pollTransmit(): Uint8Array | undefined {
    return this.#outbox.shift();
  }

  pollTimeout(): number | undefined {
    const scheduled = this.#schedule[0]?.at;
    if (scheduled === undefined) return this.deadline;
    return this.deadline === undefined ? scheduled : Math.min(scheduled, this.deadline);
  }

  handleTimeout(now: number): void {
    this.timeouts.push(now);
    while (this.#schedule[0] !== undefined && this.#schedule[0].at <= now) {
      this.#outbox.push(this.#schedule.shift()!.data);
    }
    if (this.deadline !== undefined && this.deadline <= now) {
      this.deadline = undefined;
      this.onTimeout?.(now);
    }
  }

  /** Everything received, joined: the byte stream as the receiver saw it. */
  stream(): Uint8Array {
    return concat(this.received.map((entry) => entry.data));
  }
}

/** A datagram carrying `id` in its first 4 bytes, padded to `length` bytes. */
function datagram(id: number, length = 4): Uint8Array {
  const bytes = new Uint8Array(Math.max(4, length)).fill(0xee);
  new DataView(bytes.buffer).setUint32(0, id);
  return bytes;
}

function idOf(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/**
 * A short, cheap name for bytes in logs (properties log thousands of schedules): the low byte of
 * the id and the length of a datagram made by `datagram()`, or the hex of anything shorter.
 */
function label(bytes: Uint8Array): string {
  return bytes.length >= 4 ? `#${bytes[3]!}/${bytes.length}` : hex(bytes);
}

/** One line per event, for comparing schedules. */
function describeEvent(event: TestingPairEvent): string {
  switch (event.type) {
    case 'timeout':
      return `timeout ${event.endpoint} @${event.time}`;
    case 'deliver':
      return `deliver ${event.direction} @${event.time} sent@${event.sentAt} ${label(event.data)}`;
    default:
      return `${event.type} ${event.direction} @${event.time} ${label(event.data)}`;
  }
}

/** Steps the pair until idle, checking `invariant` after every step; at most `maxSteps`. */
function stepUntilIdle(pair: TestingPair, invariant: () => void, maxSteps = 100_000): void {
  for (let steps = 0; pair.step(); steps++) {
    invariant();
    if (steps > maxSteps) throw new Error('the pair did not go idle');
  }
  invariant();
}

const directions: readonly Direction[] = ['a-to-b', 'b-to-a'];

/**
 * Checks the link's conservation laws in both directions. Plain comparisons rather than `expect`,
 * because properties call it after every step.
 */
function checkAccounting(pair: TestingPair): void {
  for (const direction of directions) {
    const statistics = pair.statistics(direction);
    const bytesIn = statistics.sentBytes + statistics.duplicatedBytes - statistics.droppedBytes;
    const bytesOut = statistics.deliveredBytes + statistics.inFlightBytes;
    const countsIn = statistics.sent + statistics.duplicated - statistics.dropped;
    const countsOut = statistics.delivered + statistics.inFlight;
    if (bytesIn !== bytesOut || (pair.mode === 'datagram' && countsIn !== countsOut)) {
      expect.fail(`${direction} does not account for everything: ${JSON.stringify(statistics)}`);
    }
  }
}

describe('TestingPair in stream mode', () => {
  const arbitraryWrites = fc.array(
    fc.record({ delay: fc.nat(20), data: fc.uint8Array({ maxLength: 20 }) }),
    { maxLength: 10 },
  );
  const arbitraryLatency = fc
    .tuple(fc.nat(30), fc.nat(30))
    .map(([low, spread]) => ({ min: low, max: low + spread }));

  it('delivers every byte intact and in order, in chunks of 1 to maxChunk bytes', () => {
    fc.assert(
      fc.property(
        fc.nat(0xffff_ffff),
        arbitraryLatency,
        fc.integer({ min: 1, max: 16 }),
        arbitraryWrites,
        arbitraryWrites,
        (seed, latency, maxChunk, writesOfA, writesOfB) => {
          const a = new FakeEndpoint();
          const b = new FakeEndpoint();
          let at = 0;
          for (const write of writesOfA) a.sendAt((at += write.delay), write.data);
          at = 0;
          for (const write of writesOfB) b.sendAt((at += write.delay), write.data);
          const pair = new TestingPair(a, b, {
            mode: 'stream',
            seed,
            latency,
            chunking: { maxChunk },
          });
          pair.runUntilIdle();

          checkAccounting(pair);
          const statistics = pair.statistics('a-to-b');
          const chunkSizes = [...a.received, ...b.received].map((entry) => entry.data.length);
          // One `expect` per run: vitest's are slow enough to matter at 10,000 runs.
          expect({
            toB: hex(b.stream()),
            toA: hex(a.stream()),
            chunksWithinBounds: chunkSizes.every((size) => size >= 1 && size <= maxChunk),
            inFlight: statistics.inFlight,
            transmitted: statistics.transmitted,
            sent: statistics.sent,
            delivered: statistics.delivered,
            impaired: statistics.dropped + statistics.duplicated + statistics.reordered,
          }).toEqual({
            toB: hex(concat(writesOfA.map((write) => write.data))),
            toA: hex(concat(writesOfB.map((write) => write.data))),
            chunksWithinBounds: true,
            inFlight: 0,
            transmitted: writesOfA.length,
            sent: writesOfA.filter((write) => write.data.length > 0).length,
            delivered: b.received.length,
            impaired: 0,
          });
        },
      ),
    );
  });

  it('without chunking, delivers each write whole, never before an earlier write', () => {
    fc.assert(
      fc.property(
        fc.nat(0xffff_ffff),
        arbitraryLatency,
        arbitraryWrites,
        (seed, latency, writes) => {
          const a = new FakeEndpoint();
          const b = new FakeEndpoint();
          let at = 0;
          for (const write of writes) a.sendAt((at += write.delay), write.data);
          const deliveries: Extract<TestingPairEvent, { type: 'deliver' }>[] = [];
          const pair = new TestingPair(a, b, {
            mode: 'stream',
            seed,
            latency,
            onEvent: (event) => {
              if (event.type === 'deliver') deliveries.push(event);
            },
          });
          pair.runUntilIdle();

          const nonEmpty = writes.filter((write) => write.data.length > 0);
          expect(b.received.map((entry) => hex(entry.data))).toEqual(
            nonEmpty.map((write) => hex(write.data)),
          );
          // Arrival = max(sent + latency drawn, previous arrival): no write overtakes another, and
          // none arrives faster than the minimum latency.
          let previous = -Infinity;
          for (const { time, sentAt } of deliveries) {
            const inBounds =
              time >= previous &&
              time - sentAt >= latency.min &&
              time <= Math.max(sentAt + latency.max, previous);
            if (!inBounds) expect.fail(`arrived at ${time}, sent at ${sentAt}, after ${previous}`);
            previous = time;
          }
        },
      ),
    );
  });

  it('coalesces writes that arrive at the same instant before cutting them', () => {
    const threeWrites = (): FakeEndpoint =>
      new FakeEndpoint().send(Uint8Array.of(1, 2), Uint8Array.of(3), Uint8Array.of(4, 5));
    // The five bytes due at once are cut at random; for some seed among the first few the first
    // chunk takes all five, joining the three writes into one receive().
    let joined = false;
    for (let seed = 1; seed <= 20 && !joined; seed++) {
      const receiver = new FakeEndpoint();
      new TestingPair(threeWrites(), receiver, {
        mode: 'stream',
        seed,
        chunking: { maxChunk: 1_000 },
      }).runUntilIdle();
      expect(hex(receiver.stream())).toBe('0102030405');
      joined = receiver.received.some((entry) => entry.data.length === 5);
    }
    expect(joined).toBe(true);
    // Without chunking the same writes arrive one by one.
    const receiver = new FakeEndpoint();
    new TestingPair(threeWrites(), receiver, { mode: 'stream' }).runUntilIdle();
    expect(receiver.received.map((entry) => hex(entry.data))).toEqual(['0102', '03', '0405']);
  });

  it('leaves empty writes out of the stream', () => {
    const a = new FakeEndpoint().send(new Uint8Array(0), Uint8Array.of(7), new Uint8Array(0));
    const b = new FakeEndpoint();
    const pair = new TestingPair(a, b, { mode: 'stream' });
    pair.runUntilIdle();
    expect(b.received).toEqual([{ data: Uint8Array.of(7), now: 1 }]);
    expect(pair.statistics('a-to-b')).toMatchObject({ transmitted: 3, sent: 1, delivered: 1 });
  });
});

describe('TestingPair in datagram mode', () => {
  const arbitraryDatagrams = fc.array(
    fc.record({ delay: fc.nat(5), length: fc.integer({ min: 4, max: 12 }) }),
    { maxLength: 24 },
  );

  /** `a` sends the datagrams numbered 0, 1, … at the given spacing; `b` only receives. */
  function oneWay(
    datagrams: readonly { delay: number; length: number }[],
    options: TestingPairOptions,
  ): { a: FakeEndpoint; b: FakeEndpoint; pair: TestingPair } {
    const a = new FakeEndpoint();
    const b = new FakeEndpoint();
    let at = 0;
    datagrams.forEach((entry, id) => a.sendAt((at += entry.delay), datagram(id, entry.length)));
    return { a, b, pair: new TestingPair(a, b, options) };
  }

  it('without impairments and with a fixed latency, delivers each datagram once, in order', () => {
    fc.assert(
      fc.property(fc.nat(0xffff_ffff), fc.nat(20), arbitraryDatagrams, (seed, latency, sent) => {
        const { b, pair } = oneWay(sent, {
          mode: 'datagram',
          seed,
          latency: { min: latency, max: latency },
        });
        pair.runUntilIdle();
        const statistics = pair.statistics('a-to-b');
        expect({
          received: b.received.map((entry) => `${idOf(entry.data)}/${entry.data.length}`),
          impaired: statistics.dropped + statistics.duplicated + statistics.delayed,
          reordered: statistics.reordered,
          inFlight: statistics.inFlight,
        }).toEqual({
          received: sent.map((entry, id) => `${id}/${entry.length}`),
          impaired: 0,
          reordered: 0,
          inFlight: 0,
        });
      }),
    );
  });

  it('delivers empty datagrams', () => {
    const a = new FakeEndpoint().send(new Uint8Array(0));
    const b = new FakeEndpoint();
    new TestingPair(a, b, { mode: 'datagram' }).runUntilIdle();
    expect(b.received).toEqual([{ data: new Uint8Array(0), now: 1 }]);
  });

  it('under loss, duplication, reordering and jitter, delivers a subset of copies and accounts for all', () => {
    const probability = fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true }));
    fc.assert(
      fc.property(
        fc.nat(0xffff_ffff),
        fc.record({ loss: probability, duplication: probability, reordering: probability }),
        fc.nat(10),
        arbitraryDatagrams,
        (seed, impairments, jitter, sent) => {
          const { b, pair } = oneWay(sent, {
            mode: 'datagram',
            seed,
            latency: { min: 1, max: 1 + jitter },
            ...impairments,
          });
          stepUntilIdle(pair, () => {
            checkAccounting(pair);
          });
          const copies = new Map<number, number>();
          for (const { data } of b.received) {
            const id = idOf(data);
            if (id >= sent.length || data.length !== sent[id]!.length) {
              expect.fail(`received a datagram that was never sent: ${hex(data)}`);
            }
            copies.set(id, (copies.get(id) ?? 0) + 1);
          }
          const statistics = pair.statistics('a-to-b');
          const { loss, duplication, reordering } = impairments;
          expect({
            copiesWithinBound: Math.max(0, ...copies.values()) <= (duplication === 0 ? 1 : 2),
            everyDatagramArrived: loss > 0 || copies.size === sent.length,
            inFlight: statistics.inFlight,
            delivered: statistics.delivered,
            dropped: loss === 0 ? statistics.dropped : 0,
            duplicated: duplication === 0 ? statistics.duplicated : 0,
            delayed: reordering === 0 ? statistics.delayed : 0,
            reordered: reordering === 0 && jitter === 0 ? statistics.reordered : 0,
          }).toEqual({
            copiesWithinBound: true,
            everyDatagramArrived: true,
            inFlight: 0,
            delivered: b.received.length,
            // Effects that are switched off never happen.
            dropped: 0,
            duplicated: 0,
            delayed: 0,
            reordered: 0,
          });
        },
      ),
    );
  });

  it('reordering makes later datagrams overtake earlier ones', () => {
    const sent = Array.from({ length: 100 }, () => ({ delay: 1, length: 4 }));
    const { b, pair } = oneWay(sent, {
      mode: 'datagram',
      seed: 7,
      latency: { min: 5, max: 5 },
      reordering: 0.2,
    });
    pair.runUntilIdle();
    const statistics = pair.statistics('a-to-b');
    expect(statistics.delivered).toBe(100);
    expect(statistics.delayed).toBeGreaterThan(0);
    expect(statistics.reordered).toBeGreaterThan(0);
    expect(statistics.reordered).toBeLessThanOrEqual(statistics.delayed);
    const ids = b.received.map((entry) => idOf(entry.data));
    expect(ids).not.toEqual([...ids].sort((left, right) => left - right));
    // `reordered` counts exactly the arrivals that came after a later-sent datagram.
    let highest = -1;
    let late = 0;
    for (const id of ids) {
      if (id < highest) late++;
      highest = Math.max(highest, id);
    }
    expect(statistics.reordered).toBe(late);
  });

  it('keeps each delivery within the latency range, plus the reorder delay if held back', () => {
    fc.assert(
      fc.property(
        fc.nat(0xffff_ffff),
        fc.tuple(fc.nat(20), fc.nat(20)),
        fc.tuple(fc.integer({ min: 1, max: 20 }), fc.nat(20)),
        fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true })),
        arbitraryDatagrams,
        (seed, [low, spread], [delayLow, delaySpread], reordering, sent) => {
          const latency = { min: low, max: low + spread };
          const reorderDelay = { min: delayLow, max: delayLow + delaySpread };
          const delays: number[] = [];
          const { pair } = oneWay(sent, {
            mode: 'datagram',
            seed,
            latency,
            reordering,
            reorderDelay,
            duplication: 0.1,
            onEvent: (event) => {
              if (event.type === 'deliver') delays.push(event.time - event.sentAt);
            },
          });
          pair.runUntilIdle();
          let heldBack = 0;
          for (const delay of delays) {
            const plain = delay >= latency.min && delay <= latency.max;
            const delayed =
              delay >= latency.min + reorderDelay.min && delay <= latency.max + reorderDelay.max;
            if (!plain && !delayed) expect.fail(`a delivery took ${delay} ms`);
            if (!plain) heldBack++;
          }
          const { delayed } = pair.statistics('a-to-b');
          if (heldBack > delayed || (reordering === 0 && heldBack > 0)) {
            expect.fail(`${heldBack} deliveries were held back, ${delayed} delayed`);
          }
        },
      ),
    );
  });

  it('gives each copy of a duplicated datagram its own bytes, and copies what it sends', () => {
    const buffer = Uint8Array.of(1, 2, 3, 4);
    const a = new FakeEndpoint().send(buffer);
    const b = new FakeEndpoint();
    b.onReceive = (data) => data.fill(0); // a receiver that scribbles on what it got
    const pair = new TestingPair(a, b, { mode: 'datagram', duplication: 1 });
    pair.step(); // takes the datagram
    buffer.fill(9); // the sender reuses its buffer
    pair.runUntilIdle();
    expect(b.received.map((entry) => hex(entry.data))).toEqual(['01020304', '01020304']);
    expect(pair.statistics('a-to-b')).toMatchObject({ sent: 1, duplicated: 1, delivered: 2 });
  });

  it('a sender with a retransmission timer gets every message through a bad link', () => {
    const count = 5;
    const retransmitAfter = 30;
    fc.assert(
      fc.property(fc.nat(0xffff_ffff), (seed) => {
        // Stop-and-wait: `a` sends message `next` and resends it until `b` acknowledges it.
        let next = 0;
        const a = new FakeEndpoint();
        const b = new FakeEndpoint();
        const delivered: number[] = [];
        const transmit = (now: number): void => {
          if (next < count) {
            a.send(datagram(next));
            a.deadline = now + retransmitAfter;
          }
        };
        a.onReceive = (data, now) => {
          if (idOf(data) !== next) return; // a stale or duplicate acknowledgement
          next++;
          a.deadline = undefined;
          transmit(now);
        };
        a.onTimeout = transmit;
        b.onReceive = (data) => {
          const id = idOf(data);
          if (id === delivered.length) delivered.push(id);
          b.send(datagram(id));
        };
        transmit(0);
        const pair = new TestingPair(a, b, {
          mode: 'datagram',
          seed,
          latency: { min: 1, max: 10 },
          loss: 0.3,
          duplication: 0.2,
          reordering: 0.2,
        });
        pair.runUntil(() => next === count, { maxTime: 1_000_000 });
        checkAccounting(pair);
        expect({ delivered, firstTimeout: Math.min(retransmitAfter, ...a.timeouts) }).toEqual({
          delivered: [0, 1, 2, 3, 4],
          // No retransmission before the first timeout could have expired.
          firstTimeout: retransmitAfter,
        });
      }),
    );
  });
});

describe('TestingPair timing', () => {
  it('starts at startTime and fires each deadline at exactly its virtual time', () => {
    const a = new FakeEndpoint();
    for (const at of [1_005, 1_012, 1_012, 1_030]) a.sendAt(at, datagram(at));
    const b = new FakeEndpoint();
    const pair = new TestingPair(a, b, {
      mode: 'datagram',
      startTime: 1_000,
      latency: { min: 3, max: 3 },
    });
    expect(pair.now).toBe(1_000);
    pair.runUntilIdle();
    expect(a.timeouts).toEqual([1_005, 1_012, 1_030]);
    expect(b.received.map((entry) => [idOf(entry.data), entry.now])).toEqual([
      [1_005, 1_008],
      [1_012, 1_015],
      [1_012, 1_015],
      [1_030, 1_033],
    ]);
    expect(pair.now).toBe(1_033);
  });

  it('fires a deadline already past at the current time, never moving the clock back', () => {
    const a = new FakeEndpoint();
    const pair = new TestingPair(a, new FakeEndpoint(), { mode: 'datagram', startTime: 50 });
    a.deadline = 10;
    expect(pair.step()).toBe(true);
    expect(a.timeouts).toEqual([50]);
    expect(pair.now).toBe(50);
  });

  it('asks for a deadline again after the arrivals due at the same time', () => {
    // `b` has a timer at 1, and the datagram arriving at 1 cancels it: the timer must not fire.
    const a = new FakeEndpoint().send(datagram(1));
    const b = new FakeEndpoint();
    b.deadline = 1;
    b.onReceive = () => {
      b.deadline = undefined;
    };
    const pair = new TestingPair(a, b, { mode: 'datagram' });
    pair.runUntilIdle();
    expect(b.received).toHaveLength(1);
    expect(b.timeouts).toEqual([]);
  });

  it('handles arrivals before deadlines, and a before b, at the same instant', () => {
    const order: string[] = [];
    const a = new FakeEndpoint().send(datagram(1));
    const b = new FakeEndpoint().send(datagram(2));
    a.deadline = 1;
    b.deadline = 1;
    a.onReceive = () => order.push('a received');
    b.onReceive = () => order.push('b received');
    a.onTimeout = () => order.push('a timeout');
    b.onTimeout = () => order.push('b timeout');
    new TestingPair(a, b, { mode: 'datagram' }).runUntilIdle();
    // a sent first, so its datagram (sequence 0) arrives first.
    expect(order).toEqual(['b received', 'a received', 'a timeout', 'b timeout']);
  });

  it('step() returns false and leaves the clock alone when nothing is pending', () => {
    const pair = new TestingPair(new FakeEndpoint(), new FakeEndpoint(), {
      mode: 'stream',
      startTime: 7,
    });
    expect(pair.step()).toBe(false);
    expect(pair.now).toBe(7);
    expect(pair.runUntilIdle()).toBe(0);
  });

  it('runFor handles events up to and including its end, and stops the clock exactly there', () => {
    const a = new FakeEndpoint();
    a.deadline = 1_000;
    a.onTimeout = (now) => {
      a.send(datagram(now));
      a.deadline = now + 1_000;
    };
    const b = new FakeEndpoint();
    const pair = new TestingPair(a, b, { mode: 'datagram' });
    expect(pair.runFor(3_000)).toBeGreaterThan(0);
    expect(pair.now).toBe(3_000);
    expect(a.timeouts).toEqual([1_000, 2_000, 3_000]);
    expect(b.received.map((entry) => entry.now)).toEqual([1_001, 2_001]);
    pair.runFor(0.5);
    expect(pair.now).toBe(3_000.5);
    pair.runFor(1);
    expect(b.received.map((entry) => entry.now)).toEqual([1_001, 2_001, 3_001]);
    expect(() => pair.runFor(-1)).toThrow(InvalidArgumentError);
    expect(() => pair.runFor(Number.NaN)).toThrow(InvalidArgumentError);
  });

  it('latency 0 delivers at the instant of sending', () => {
    const a = new FakeEndpoint().send(datagram(1));
    const b = new FakeEndpoint();
    const pair = new TestingPair(a, b, { mode: 'stream', latency: { min: 0, max: 0 } });
    pair.runUntilIdle();
    expect(b.received).toEqual([{ data: datagram(1), now: 0 }]);
  });
});

describe('TestingPair determinism', () => {
  /** The schedule of a small two-way exchange, one line per event. */
  function run(seed: number, options: Partial<TestingPairOptions>, mode: 'stream' | 'datagram') {
    const log: string[] = [];
    const a = new FakeEndpoint();
    const b = new FakeEndpoint();
    // An echo on b, so that both directions and both random streams are used.
    b.onReceive = (data) => b.send(data.slice());
    for (let id = 0; id < 6; id++) a.sendAt(id * 2, datagram(id, 4 + id));
    const pair = new TestingPair(a, b, {
      mode,
      seed,
      latency: { min: 1, max: 8 },
      ...options,
      onEvent: (event) => log.push(describeEvent(event)),
    });
    pair.runUntilIdle();
    return log.join('\n');
  }

  const datagramOptions = { loss: 0.2, duplication: 0.2, reordering: 0.2 };
  const streamOptions = { chunking: { maxChunk: 5 } };

  it('gives the same schedule for the same seed', () => {
    fc.assert(
      fc.property(fc.nat(0xffff_ffff), fc.boolean(), (seed, datagrams) => {
        const [mode, options] = datagrams
          ? (['datagram', datagramOptions] as const)
          : (['stream', streamOptions] as const);
        expect(run(seed, options, mode)).toBe(run(seed, options, mode));
      }),
    );
  });

  it('gives different schedules for different seeds', () => {
    expect(run(1, datagramOptions, 'datagram')).not.toBe(run(2, datagramOptions, 'datagram'));
    expect(run(1, streamOptions, 'stream')).not.toBe(run(2, streamOptions, 'stream'));
  });

  it('draws per direction: what b sends does not change what happens to the traffic of a', () => {
    const towardsB = (echo: boolean): string[] => {
      const log: string[] = [];
      const a = new FakeEndpoint();
      const b = new FakeEndpoint();
      if (echo) b.onReceive = (data) => b.send(data.slice(), data.slice());
      for (let id = 0; id < 30; id++) a.sendAt(id * 3, datagram(id));
      new TestingPair(a, b, {
        mode: 'datagram',
        seed: 99,
        latency: { min: 1, max: 8 },
        ...datagramOptions,
        onEvent: (event) => {
          if ('direction' in event && event.direction === 'a-to-b') log.push(describeEvent(event));
        },
      }).runUntilIdle();
      return log;
    };
    expect(towardsB(true)).toEqual(towardsB(false));
  });
});

describe('TestingPair hooks', () => {
  it('intercept can modify, drop and inject, per direction', () => {
    const seen: string[] = [];
    const a = new FakeEndpoint().send(datagram(1), datagram(2), datagram(3));
    const b = new FakeEndpoint().send(datagram(10));
    const pair = new TestingPair(a, b, {
      mode: 'datagram',
      intercept: (direction, data) => {
        seen.push(`${direction} ${idOf(data)}`);
        if (direction === 'b-to-a') return data;
        switch (idOf(data)) {
          case 1:
            data[3] = 9; // tamper in place: datagram 1 becomes datagram 9
            return data;
          case 2:
            return undefined; // drop
          default:
            return [data, datagram(4), datagram(5)]; // inject after it
        }
      },
    });
    pair.runUntilIdle();
    expect(seen).toEqual(['a-to-b 1', 'a-to-b 2', 'a-to-b 3', 'b-to-a 10']);
    expect(b.received.map((entry) => idOf(entry.data))).toEqual([9, 3, 4, 5]);
    expect(a.received.map((entry) => idOf(entry.data))).toEqual([10]);
    expect(pair.statistics('a-to-b')).toMatchObject({ transmitted: 3, sent: 4, delivered: 4 });
  });

  it('intercept works on a stream too, and its returned arrays are copied', () => {
    const injected = Uint8Array.of(0xaa);
    const a = new FakeEndpoint().send(Uint8Array.of(1, 2), Uint8Array.of(3));
    const b = new FakeEndpoint();
    const pair = new TestingPair(a, b, {
      mode: 'stream',
      chunking: { maxChunk: 1 },
      intercept: (_direction, data) => [injected, data],
    });
    pair.step();
    injected[0] = 0xbb; // the test reuses its array; what is in flight does not change
    pair.runUntilIdle();
    expect(hex(b.stream())).toBe('aa0102aa03');
  });

  it('intercept must return bytes', () => {
    const pair = new TestingPair(new FakeEndpoint().send(datagram(1)), new FakeEndpoint(), {
      mode: 'datagram',
      intercept: () => ['not bytes'] as unknown as Uint8Array[],
    });
    expect(() => pair.step()).toThrow(EndpointContractError);
  });

  it('onEvent tells every send, loss, delivery and timeout, in order', () => {
    const log: string[] = [];
    const a = new FakeEndpoint().send(Uint8Array.of(1), Uint8Array.of(2));
    const b = new FakeEndpoint();
    b.deadline = 5;
    new TestingPair(a, b, {
      mode: 'datagram',
      latency: { min: 2, max: 2 },
      onEvent: (event) => log.push(describeEvent(event)),
    }).runUntilIdle();
    expect(log).toEqual([
      'send a-to-b @0 01',
      'send a-to-b @0 02',
      'deliver a-to-b @2 sent@0 01',
      'deliver a-to-b @2 sent@0 02',
      'timeout b @5',
    ]);
    const lossLog: string[] = [];
    new TestingPair(new FakeEndpoint().send(Uint8Array.of(3)), new FakeEndpoint(), {
      mode: 'datagram',
      loss: 1,
      onEvent: (event) => lossLog.push(describeEvent(event)),
    }).runUntilIdle();
    expect(lossLog).toEqual(['send a-to-b @0 03', 'lose a-to-b @0 03']);
  });
});

describe('TestingPair runs and their limits', () => {
  /** Two echoes with no latency: they bounce a datagram forever without time passing. */
  function endlessPingPong(): TestingPair<FakeEndpoint, FakeEndpoint> {
    const a = new FakeEndpoint().send(datagram(1));
    const b = new FakeEndpoint();
    a.onReceive = (data) => a.send(data.slice());
    b.onReceive = (data) => b.send(data.slice());
    return new TestingPair(a, b, { mode: 'datagram', latency: { min: 0, max: 0 } });
  }

  /** `a` pings every second, forever. */
  function keepAlive(): TestingPair<FakeEndpoint, FakeEndpoint> {
    const a = new FakeEndpoint();
    a.deadline = 1_000;
    a.onTimeout = (now) => {
      a.send(datagram(now));
      a.deadline = now + 1_000;
    };
    return new TestingPair(a, new FakeEndpoint(), { mode: 'datagram' });
  }

  it('runUntil returns at once when the condition already holds', () => {
    const pair = endlessPingPong();
    pair.runUntil(() => true);
    expect(pair.statistics('a-to-b').transmitted).toBe(0);
  });

  it('runUntil stops as soon as the condition holds', () => {
    const pair = keepAlive();
    pair.runUntil(() => pair.b.received.length === 2);
    expect(pair.now).toBe(2_001);
  });

  it('runUntil throws when the pair goes idle first', () => {
    const a = new FakeEndpoint().send(datagram(1));
    const pair = new TestingPair(a, new FakeEndpoint(), { mode: 'datagram' });
    let caught: unknown;
    try {
      pair.runUntil(() => false);
    } catch (error) {
      caught = error;
    }
    expect(ConditionNotMetError.isInstance(caught)).toBe(true);
    expect(TestingPairError.isInstance(caught)).toBe(true);
    expect(LanchatError.isInstance(caught)).toBe(true);
    expect(caught).toMatchObject({
      name: 'ConditionNotMetError',
      reason: 'idle',
      now: 1,
      steps: 1,
    });
    expect((caught as Error).message).toMatch(
      /^runUntil: condition not met by virtual time 1 after 1 steps: the pair went idle/,
    );
  });

  it('runUntil throws past maxTime without moving the clock past it', () => {
    const pair = keepAlive();
    expect(() => pair.runUntil(() => false, { maxTime: 5_500 })).toThrow(
      expect.objectContaining({ reason: 'max-time' }) as Error,
    );
    expect(pair.now).toBeLessThanOrEqual(5_500);
    expect(pair.now).toBe(5_001);
    // The default budget is one virtual minute.
    expect(() => pair.runUntil(() => false)).toThrow(ConditionNotMetError);
    expect(pair.now).toBeLessThanOrEqual(5_001 + testing.DEFAULT_MAX_TIME);
  });

  it('runUntil and runFor throw after maxSteps when time stands still', () => {
    const pair = endlessPingPong();
    expect(() => pair.runUntil(() => false, { maxSteps: 100 })).toThrow(
      expect.objectContaining({ reason: 'max-steps', steps: 100, now: 0 }) as Error,
    );
    expect(() => pair.runFor(10, { maxSteps: 100 })).toThrow(ConditionNotMetError);
    expect(() => pair.runUntilIdle({ maxSteps: 100 })).toThrow(ConditionNotMetError);
    expect(pair.now).toBe(0);
    checkAccounting(pair);
  });

  it('runUntilIdle throws for endpoints that never go idle', () => {
    const pair = keepAlive();
    expect(() => pair.runUntilIdle({ maxTime: 10_000 })).toThrow(
      expect.objectContaining({ reason: 'max-time' }) as Error,
    );
    expect(pair.a.timeouts).toHaveLength(10);
  });

  it('checks run budgets', () => {
    const pair = keepAlive();
    expect(() => pair.runUntil(() => false, { maxTime: -1 })).toThrow(InvalidArgumentError);
    expect(() => pair.runUntil(() => false, { maxSteps: 1.5 })).toThrow(InvalidArgumentError);
    expect(() => pair.runUntilIdle({ maxTime: Number.NaN })).toThrow(InvalidArgumentError);
  });

  it('throws when a direction holds more than maxInFlight items, keeping what fit', () => {
    const a = new FakeEndpoint();
    for (let id = 0; id < 11; id++) a.send(datagram(id));
    const b = new FakeEndpoint();
    const pair = new TestingPair(a, b, { mode: 'datagram', maxInFlight: 10 });
    let caught: unknown;
    try {
      pair.step();
    } catch (error) {
      caught = error;
    }
    expect(LinkOverflowError.isInstance(caught)).toBe(true);
    expect(caught).toMatchObject({ direction: 'a-to-b', limit: 10 });
    expect(pair.statistics('a-to-b')).toMatchObject({ transmitted: 11, sent: 10, inFlight: 10 });
    pair.runUntilIdle();
    expect(b.received.map((entry) => idOf(entry.data))).toEqual([...Array(10).keys()]);
  });

  it('throws when an endpoint transmits without end at one instant, even into a lossy link', () => {
    const flood: Endpoint = {
      receive: () => undefined,
      pollTransmit: () => datagram(0),
      pollTimeout: () => undefined,
      handleTimeout: () => undefined,
    };
    const pair = new TestingPair(new FakeEndpoint(), flood, {
      mode: 'datagram',
      loss: 1,
      maxInFlight: 50,
    });
    expect(() => pair.step()).toThrow(LinkOverflowError);
    expect(pair.statistics('b-to-a')).toMatchObject({ transmitted: 51, sent: 50, dropped: 50 });
    // With the default bound, a flood into a working link fails too, and fast.
    const defaultPair = new TestingPair(new FakeEndpoint(), flood, { mode: 'stream' });
    expect(() => defaultPair.step()).toThrow(LinkOverflowError);
    expect(defaultPair.statistics('b-to-a').inFlight).toBe(testing.DEFAULT_MAX_IN_FLIGHT);
  });
});

describe('TestingPair robustness', () => {
  it('lets an exception from receive out of step(), and carries on consistently after it', () => {
    const a = new FakeEndpoint().send(datagram(1), datagram(2), datagram(3));
    const b = new FakeEndpoint();
    let failures = 1;
    b.onReceive = (data) => {
      if (idOf(data) === 2 && failures-- > 0) throw new Error('receiver bug');
    };
    const pair = new TestingPair(a, b, { mode: 'datagram' });
    expect(() => pair.step()).toThrow('receiver bug');
    expect(pair.statistics('a-to-b')).toMatchObject({ delivered: 2, inFlight: 1 });
    checkAccounting(pair);
    pair.runUntilIdle();
    expect(b.received.map((entry) => idOf(entry.data))).toEqual([1, 2, 3]);
  });

  it('keeps the rest of a cut stream in flight when receive throws mid-way', () => {
    fc.assert(
      fc.property(
        fc.nat(0xffff_ffff),
        fc.uint8Array({ minLength: 1, maxLength: 40 }),
        fc.nat(20),
        (seed, bytes, failAt) => {
          const a = new FakeEndpoint().send(bytes);
          const b = new FakeEndpoint();
          const failure = { happened: false };
          b.onReceive = () => {
            if (!failure.happened && b.received.length > failAt) {
              failure.happened = true;
              throw new Error('receiver bug');
            }
          };
          const pair = new TestingPair(a, b, { mode: 'stream', seed, chunking: { maxChunk: 3 } });
          let caught: unknown;
          try {
            pair.runUntilIdle();
          } catch (error) {
            caught = error;
            checkAccounting(pair);
            pair.runUntilIdle();
          }
          checkAccounting(pair);
          expect({
            stream: hex(b.stream()),
            caught: (caught as Error | undefined)?.message,
          }).toEqual({ stream: hex(bytes), caught: failure.happened ? 'receiver bug' : undefined });
        },
      ),
    );
  });

  it('lets an exception from handleTimeout out, and fires the deadline again next step', () => {
    const a = new FakeEndpoint();
    a.deadline = 10;
    let failures = 1;
    a.onTimeout = () => {
      if (failures-- > 0) {
        a.deadline = 10; // still due: the endpoint failed before acting on it
        throw new Error('timer bug');
      }
    };
    const pair = new TestingPair(a, new FakeEndpoint(), { mode: 'datagram' });
    expect(() => pair.step()).toThrow('timer bug');
    expect(pair.now).toBe(10);
    pair.runUntilIdle();
    expect(a.timeouts).toEqual([10, 10]);
  });

  it('refuses an endpoint that breaks the Endpoint contract', () => {
    const badDeadline: Endpoint = {
      receive: () => undefined,
      pollTransmit: () => undefined,
      pollTimeout: () => Number.NaN,
      handleTimeout: () => undefined,
    };
    expect(() =>
      new TestingPair(badDeadline, new FakeEndpoint(), { mode: 'datagram' }).step(),
    ).toThrow(EndpointContractError);
    const badData = {
      ...badDeadline,
      pollTimeout: () => undefined,
      pollTransmit: () => 'hello' as unknown as Uint8Array,
    };
    expect(() => new TestingPair(new FakeEndpoint(), badData, { mode: 'stream' }).step()).toThrow(
      EndpointContractError,
    );
  });
});

describe('TestingPair options', () => {
  const endpoints = (): [FakeEndpoint, FakeEndpoint] => [new FakeEndpoint(), new FakeEndpoint()];

  it.each<[string, TestingPairOptions]>([
    ['loss in stream mode', { mode: 'stream', loss: 0 }],
    ['duplication in stream mode', { mode: 'stream', duplication: 0.1 }],
    ['reordering in stream mode', { mode: 'stream', reordering: 0.1 }],
    ['reorderDelay in stream mode', { mode: 'stream', reorderDelay: { min: 1, max: 2 } }],
    ['chunking in datagram mode', { mode: 'datagram', chunking: { maxChunk: 4 } }],
    ['an unknown mode', { mode: 'carrier pigeon' as 'stream' }],
    ['a negative latency', { mode: 'stream', latency: { min: -1, max: 1 } }],
    ['an inverted latency', { mode: 'stream', latency: { min: 5, max: 4 } }],
    ['a fractional latency', { mode: 'stream', latency: { min: 0.5, max: 1 } }],
    ['a probability over 1', { mode: 'datagram', loss: 1.5 }],
    ['a NaN probability', { mode: 'datagram', duplication: Number.NaN }],
    ['a zero maxChunk', { mode: 'stream', chunking: { maxChunk: 0 } }],
    ['a zero maxInFlight', { mode: 'stream', maxInFlight: 0 }],
    ['a negative seed', { mode: 'stream', seed: -1 }],
    ['a seed of 2^32', { mode: 'stream', seed: 2 ** 32 }],
    ['an infinite start time', { mode: 'stream', startTime: Infinity }],
  ])('refuses %s', (_name, options) => {
    expect(() => new TestingPair(...endpoints(), options)).toThrow(InvalidArgumentError);
  });

  it('has documented defaults', () => {
    const [a, b] = endpoints();
    const pair = new TestingPair(a, b, { mode: 'datagram' });
    expect(pair.a).toBe(a);
    expect(pair.b).toBe(b);
    expect(pair.seed).toBe(1);
    expect(pair.now).toBe(0);
    expect(pair.mode).toBe('datagram');
    expect(testing.DEFAULT_MAX_IN_FLIGHT).toBe(10_000);
    expect(testing.DEFAULT_MAX_STEPS).toBe(1_000_000);
    expect(testing.DEFAULT_MAX_TIME).toBe(60_000);
  });

  it('exports stable error names', () => {
    for (const errorClass of [
      TestingPairError,
      ConditionNotMetError,
      LinkOverflowError,
      EndpointContractError,
    ]) {
      const exported = (testing as Record<string, unknown>)[errorClass.errorName];
      expect(exported).toBe(errorClass);
    }
  });
});
