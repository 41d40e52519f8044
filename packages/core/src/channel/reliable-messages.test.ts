import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BufferFullError,
  IncomingMessageTooLargeError,
  MalformedTransportMessageError,
  OutgoingMessageTooLargeError,
} from '../errors/channel-errors.js';
import { InvalidArgumentError } from '../errors/lanchat-error.js';
import { TestingPair } from '../testing/testing-pair.js';
import {
  DATA_SEGMENT_HEADER_LENGTH,
  ReliableMessages,
  SEGMENT_ACK,
  SEGMENT_DATA,
} from './reliable-messages.js';

const SEGMENT = 1167;

function machine(options: Partial<ConstructorParameters<typeof ReliableMessages>[0]> = {}) {
  return new ReliableMessages({ now: 0, maxSegmentLength: SEGMENT, ...options });
}

function drain(side: ReliableMessages, into: Uint8Array[]): void {
  for (let message = side.nextMessage(); message !== undefined; message = side.nextMessage()) {
    into.push(message);
  }
}

/** Every segment `side` sends now, in order. */
function transmitAll(side: ReliableMessages, now: number): Uint8Array[] {
  const segments: Uint8Array[] = [];
  for (let segment = side.pollTransmit(now); segment !== undefined;) {
    segments.push(segment);
    segment = side.pollTransmit(now);
  }
  return segments;
}

function sameMessages(received: Uint8Array[], sent: Uint8Array[]): boolean {
  return (
    received.length === sent.length &&
    received.every((message, index) => Buffer.from(message).equals(sent[index]!))
  );
}

/** Drives the pair until both sides have every message and nothing is unacknowledged. */
function exchange(
  pair: TestingPair<ReliableMessages, ReliableMessages>,
  toB: Uint8Array[],
  toA: Uint8Array[],
): { atA: Uint8Array[]; atB: Uint8Array[] } {
  const atA: Uint8Array[] = [];
  const atB: Uint8Array[] = [];
  for (const message of toB) pair.a.send(message);
  for (const message of toA) pair.b.send(message);
  pair.runUntil(
    () => {
      drain(pair.a, atA);
      drain(pair.b, atB);
      return atB.length === toB.length && atA.length === toA.length && pair.a.idle && pair.b.idle;
    },
    { maxTime: 600_000, maxSteps: 2_000_000 },
  );
  return { atA, atB };
}

const messages = fc.array(
  fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ minLength: 1100, maxLength: 4000 })),
  { maxLength: 30 },
);

describe('ReliableMessages', () => {
  it('property: under any loss, duplication and reordering, every message arrives once, whole, in order, both ways', () => {
    fc.assert(
      fc.property(
        messages,
        messages,
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.double({ min: 0, max: 0.3, noNaN: true }),
        fc.double({ min: 0, max: 0.2, noNaN: true }),
        fc.double({ min: 0, max: 0.3, noNaN: true }),
        fc.integer({ min: 1, max: 64 }),
        (toB, toA, seed, loss, duplication, reordering, window) => {
          const pair = new TestingPair(machine({ window }), machine({ window }), {
            mode: 'datagram',
            seed,
            latency: { min: 1, max: 20 },
            loss,
            duplication,
            reordering,
          });
          const { atA, atB } = exchange(pair, toB, toA);
          expect(sameMessages(atB, toB)).toBe(true);
          expect(sameMessages(atA, toA)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps at most a window of segments unacknowledged', () => {
    const sender = machine({ window: 4 });
    sender.send(new Uint8Array(10 * 1000));
    const sent = transmitAll(sender, 0);
    expect(sent.length).toBe(4);
    expect(sent.every((segment) => segment[0] === SEGMENT_DATA)).toBe(true);
  });

  it('resends a lost segment when its timer expires, backing off, and at once after three later acks', () => {
    const sender = machine();
    const receiver = machine();
    for (let index = 0; index < 5; index++) sender.send(Uint8Array.of(index));
    const segments = transmitAll(sender, 0);
    expect(segments.length).toBe(5);
    // The first is lost; the next three arrive, each answered with an ack that skips it.
    for (const segment of segments.slice(1, 4)) {
      receiver.receive(segment, 10);
      sender.receive(receiver.pollTransmit(10)!, 20);
    }
    expect(sender.pollTransmit(20)).toBe(segments[0]);
    expect(sender.statistics.resent).toBe(1);
    // Lost again: the timer resends it, later each time.
    const first = sender.pollTimeout()!;
    sender.handleTimeout(first);
    expect(sender.pollTransmit(first)).toBe(segments[0]);
    const second = sender.pollTimeout()!;
    expect(second - first).toBeGreaterThan(0);
    receiver.receive(segments[0]!, second);
    receiver.receive(segments[4]!, second);
    const received: Uint8Array[] = [];
    drain(receiver, received);
    expect(received.map((message) => message[0])).toEqual([0, 1, 2, 3, 4]);
    sender.receive(receiver.pollTransmit(second)!, second + 1);
    expect(sender.idle).toBe(true);
    expect(sender.pollTimeout()).toBeUndefined();
  });

  it('catches a lost resend without waiting for the timer: three transmissions after it arrived', () => {
    const sender = machine();
    const receiver = machine();
    for (let index = 0; index < 12; index++) sender.send(Uint8Array.of(index));
    const first = [0, 1, 2, 3, 4].map(() => sender.pollTransmit(0)!);
    // Segment 0 is lost; 1 to 3 arrive together, and their one ack reports 0 missing.
    for (const segment of first.slice(1, 4)) receiver.receive(segment, 1);
    sender.receive(receiver.pollTransmit(1)!, 2);
    const resend = sender.pollTransmit(2)!;
    expect(resend).toBe(first[0]);
    // The resend is lost too. Three segments sent after it arrive (and 4, sent before it).
    const later = [sender.pollTransmit(2)!, sender.pollTransmit(2)!, sender.pollTransmit(2)!];
    for (const segment of [first[4]!, ...later]) receiver.receive(segment, 3);
    sender.receive(receiver.pollTransmit(3)!, 4);
    // Resent again at once, long before any timer (the earliest it could run out is 30 ms).
    expect(sender.pollTransmit(4)).toBe(first[0]);
    expect(sender.statistics.resent).toBe(2);
    expect(sender.statistics.timeouts).toBe(0);
    receiver.receive(first[0]!, 5);
    const received: Uint8Array[] = [];
    drain(receiver, received);
    expect(received.map((message) => message[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('resends nothing past the ranges an ack reports: the receiver may hold those', () => {
    const sender = machine();
    const receiver = machine();
    for (let index = 0; index < 40; index++) sender.send(Uint8Array.of(index));
    const segments = transmitAll(sender, 0);
    // Every even segment is lost: 19 gaps, more than the 16 ranges an ack can report.
    for (let index = 1; index < 40; index += 2) receiver.receive(segments[index]!, 1);
    sender.receive(receiver.pollTransmit(1)!, 2);
    const resent = transmitAll(sender, 2).map((segment) => segments.indexOf(segment));
    // The gaps the ack shows (0, 2, ..., 30) with three later transmissions acknowledged (not
    // 30: only 31 followed it), and nothing past the ack's last range (32 and on).
    expect(resent).toEqual(Array.from({ length: 15 }, (_, index) => index * 2));
  });

  it('sends two probes when the timer runs out, and their ack brings every other loss back at once (losses at the end of a burst)', () => {
    const sender = machine();
    const receiver = machine();
    for (let index = 0; index < 5; index++) sender.send(Uint8Array.of(index));
    const segments = transmitAll(sender, 0);
    // Every one lost: no ack will come. The timer sends the oldest and the newest, not all five
    // (the peer may only be slow: a whole window would go again for nothing).
    const expiry = sender.pollTimeout()!;
    sender.handleTimeout(expiry);
    const probes = [sender.pollTransmit(expiry), sender.pollTransmit(expiry)];
    expect(sender.pollTransmit(expiry)).toBeUndefined();
    expect(probes).toEqual([segments[0], segments[4]]);
    expect(sender.statistics.timeouts).toBe(1);
    // Both arrive: their one ack shows 1 to 3 missing below 4, and those go at once.
    for (const probe of probes) receiver.receive(probe!, expiry + 1);
    sender.receive(receiver.pollTransmit(expiry + 1)!, expiry + 2);
    const resent = transmitAll(sender, expiry + 2);
    expect(resent).toEqual(segments.slice(1, 4));
    expect(sender.statistics.resent).toBe(5);
    for (const segment of resent) receiver.receive(segment, expiry + 3);
    const received: Uint8Array[] = [];
    drain(receiver, received);
    expect(received.map((message) => message[0])).toEqual([0, 1, 2, 3, 4]);
  });

  it('takes a segment as lost a round trip after a later one was acknowledged, even with fewer than three after it', () => {
    const sender = machine();
    const receiver = machine();
    for (let index = 0; index < 3; index++) sender.send(Uint8Array.of(index));
    // A first exchange measures the round trip: 10 ms.
    const first = sender.pollTransmit(0)!;
    receiver.receive(first, 5);
    sender.receive(receiver.pollTransmit(5)!, 10);
    const [lost, later] = [sender.pollTransmit(20)!, sender.pollTransmit(20)!];
    receiver.receive(later, 25);
    const ack = receiver.pollTransmit(25)!;
    // Only one transmission after it arrived: within a round trip it may just be late...
    sender.receive(ack, 30);
    expect(sender.pollTransmit(30)).toBeUndefined();
    // ...past one (9/8 of it), it is lost: the loss timer says when.
    const lossAt = sender.pollTimeout()!;
    expect(lossAt).toBeLessThan(40);
    sender.handleTimeout(lossAt);
    expect(sender.pollTransmit(lossAt)).toBe(lost);
    expect(sender.statistics.timeouts).toBe(0);
  });

  it('says since when segments have waited for an acknowledgement that makes progress', () => {
    const sender = machine();
    const receiver = machine();
    expect(sender.unacknowledgedSince).toBeUndefined();
    for (let index = 0; index < 3; index++) sender.send(Uint8Array.of(index));
    const first = sender.pollTransmit(5)!;
    const second = sender.pollTransmit(7)!;
    expect(sender.unacknowledgedSince).toBe(5);
    receiver.receive(first, 10);
    sender.receive(receiver.pollTransmit(10)!, 20);
    // Progress: the wait starts again for what is still in flight.
    expect(sender.unacknowledgedSince).toBe(20);
    // An ack that settles nothing new is no progress.
    sender.receive(receiver.pollTransmit(10) ?? Uint8Array.of(0x11, 0, 0, 0, 1, 0), 30);
    expect(sender.unacknowledgedSince).toBe(20);
    receiver.receive(second, 31);
    sender.receive(receiver.pollTransmit(31)!, 32);
    expect(sender.unacknowledgedSince).toBeUndefined();
  });

  it('answers duplicates with an ack and delivers them once', () => {
    const sender = machine();
    const receiver = machine();
    sender.send(Uint8Array.of(7));
    const segment = sender.pollTransmit(0)!;
    receiver.receive(segment, 1);
    receiver.receive(segment, 2);
    expect(receiver.statistics.duplicates).toBe(1);
    expect(receiver.pollTransmit(2)?.[0]).toBe(SEGMENT_ACK);
    expect(receiver.nextMessage()).toEqual(Uint8Array.of(7));
    expect(receiver.nextMessage()).toBeUndefined();
  });

  it('refuses malformed segments as protocol errors', () => {
    const receiver = machine();
    const data = (sequence: number, flags: number): Uint8Array => {
      const segment = new Uint8Array(DATA_SEGMENT_HEADER_LENGTH + 1);
      segment[0] = SEGMENT_DATA;
      new DataView(segment.buffer).setUint32(1, sequence);
      segment[5] = flags;
      return segment;
    };
    for (const bad of [
      new Uint8Array(0),
      Uint8Array.of(0x42),
      Uint8Array.of(SEGMENT_DATA, 0, 0),
      data(0, 0x80),
      Uint8Array.of(SEGMENT_ACK, 0, 0, 0, 1, 0),
      Uint8Array.of(SEGMENT_ACK, 0, 0, 0, 0, 1),
    ]) {
      expect(() => receiver.receive(bad, 0)).toThrow(MalformedTransportMessageError);
    }
    // Beyond the window: dropped, not an error.
    receiver.receive(data(10_000, 1), 0);
    expect(receiver.statistics.beyondWindow).toBe(1);
  });

  it('bounds messages and buffers', () => {
    const small = machine({ maxMessageLength: 1000, maxBufferedBytes: 1500 });
    expect(() => small.send(new Uint8Array(1001))).toThrow(OutgoingMessageTooLargeError);
    small.send(new Uint8Array(1000));
    expect(() => small.send(new Uint8Array(600))).toThrow(BufferFullError);
    const big = machine();
    const receiver = machine({ maxMessageLength: 2000 });
    big.send(new Uint8Array(5000));
    expect(() => {
      for (let segment = big.pollTransmit(0); segment !== undefined;) {
        receiver.receive(segment, 0);
        segment = big.pollTransmit(0);
      }
    }).toThrow(IncomingMessageTooLargeError);
    expect(() => machine({ maxSegmentLength: 100 })).toThrow(InvalidArgumentError);
    expect(() => machine({ window: 0 })).toThrow(InvalidArgumentError);
  });
});
