import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReceiverEndpoint, SenderEndpoint, describeFile } from '../../test/transfer-link.js';
import { SeededRandom } from '../testing/random.js';
import { TestingPair } from '../testing/testing-pair.js';
import { FileReceiver } from './file-receiver.js';
import { FileSender } from './file-sender.js';
import { type TransferMessage, transferIdFromBytes } from './transfer-messages.js';

const ID = 'a1'.repeat(16);

function content(length: number, seed = 1): Uint8Array {
  const random = new SeededRandom(seed);
  const bytes = new Uint8Array(length);
  for (let index = 0; index < length; index++) bytes[index] = random.nextInt(0, 255);
  return bytes;
}

/** Byte-for-byte equality, fast (`toEqual` walks typed arrays one element at a time). */
function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  const first = actual.findIndex((byte, index) => byte !== expected[index]);
  expect(first, 'the first byte that differs').toBe(-1);
}

/** Handles everything due now (the reliable pair has no latency); the clock stays. */
function settle(pair: TestingPair): void {
  pair.runFor(0);
}

function types(events: readonly { type: string }[]): string[] {
  return [...new Set(events.map((event) => event.type))];
}

/** A sender and a receiver wired directly, messages handed over at once (a reliable link). */
function reliablePair(
  file: Uint8Array,
  options: {
    chunkSize?: number;
    window?: number;
    source?: (o: number, l: number) => Uint8Array;
  } = {},
  behaviour: ConstructorParameters<typeof ReceiverEndpoint>[1] = {},
) {
  const sender = new SenderEndpoint(
    {
      ...describeFile(ID, 'report.pdf', file),
      now: 0,
      ...(options.chunkSize === undefined ? {} : { chunkSize: options.chunkSize }),
    },
    file,
    options.source,
  );
  const receiver = new ReceiverEndpoint(
    options.window === undefined ? {} : { window: options.window },
    behaviour,
  );
  const pair = new TestingPair(sender, receiver, {
    mode: 'datagram',
    seed: 1,
    latency: { min: 0, max: 0 },
    // One-byte chunks and a 60 KB window put 60,000 messages in flight at once.
    maxInFlight: 100_000,
  });
  return { sender, receiver, pair };
}

describe('file transfer over a reliable link', () => {
  it('moves a file whole, in chunks, with progress on both sides, and ends done on both', () => {
    const file = content(300_000);
    const { sender, receiver, pair } = reliablePair(file, { chunkSize: 10_000, window: 64_000 });
    settle(pair);
    expectSameBytes(receiver.file, file);
    expect(sender.sender.state).toBe('done');
    expect(receiver.receiver?.state).toBe('done');
    expect(types(sender.events)).toEqual([
      'transfer-accepted',
      'read-requested',
      'transfer-progress',
      'transfer-completed',
    ]);
    expect(sender.events.filter((event) => event.type === 'transfer-progress').at(-1)).toEqual({
      type: 'transfer-progress',
      bytes: 300_000,
      size: 300_000,
    });
    expect(types(receiver.events)).toEqual([
      'data-received',
      'transfer-progress',
      'transfer-verified',
      'transfer-completed',
    ]);
    // Credit bounds what the receiver ever holds unwritten, and what the sender reads ahead.
    expect(receiver.maxUnwritten).toBeLessThanOrEqual(64_000);
    expect(sender.sent.every(({ length }) => length <= 10_000)).toBe(true);
  });

  it('reads chunks of sealedChunkSize after an accept that takes sealed data, of chunkSize after one that does not', () => {
    const file = content(40_000);
    const sender = new FileSender({
      ...describeFile(ID, 'report.pdf', file),
      now: 0,
      chunkSize: 1_000,
      sealedChunkSize: 4_000,
    });
    const reads = () => {
      const lengths: number[] = [];
      for (let event = sender.nextEvent(); event !== undefined; event = sender.nextEvent()) {
        if (event.type === 'read-requested') lengths.push(event.length);
      }
      return lengths;
    };
    expect(sender.pollMessage(0)).toMatchObject({ type: 'offer' });
    const accept = { type: 'accept' as const, transfer: ID, window: 12_000 };
    sender.receive({ ...accept, offset: 0, attempt: 0, sealed: true }, 0);
    expect(reads()).toEqual([4_000, 4_000, 4_000]);
    // Resumed, and this time the receiver takes the data as it is: plain chunks again.
    sender.interrupt(1);
    sender.resume(1);
    expect(sender.pollMessage(1)).toMatchObject({ type: 'offer' });
    sender.receive({ ...accept, offset: 5_000, attempt: 0 }, 1);
    expect(reads()).toEqual(Array.from({ length: 12 }, () => 1_000));
    expect(
      () => new FileSender({ ...describeFile(ID, 'a', file), now: 0, sealedChunkSize: 0 }),
    ).toThrow(/sealedChunkSize/);
  });

  it('sends an empty file: accept, verify, done', () => {
    const { sender, receiver, pair } = reliablePair(new Uint8Array(0));
    settle(pair);
    expect(sender.sender.state).toBe('done');
    expect(receiver.receiver?.state).toBe('done');
    expect(receiver.events.map((event) => event.type)).toEqual([
      'transfer-verified',
      'transfer-completed',
    ]);
  });

  it('keeps going when the window is smaller than a chunk', () => {
    const file = content(50_000);
    const { sender, receiver, pair } = reliablePair(file, { chunkSize: 16_000, window: 3_000 });
    settle(pair);
    expectSameBytes(receiver.file, file);
    expect(sender.sender.state).toBe('done');
    expect(receiver.maxUnwritten).toBeLessThanOrEqual(3_000);
  });

  it('stops reading when the receiver stops writing: a slow disk slows the sender', () => {
    const file = content(1_000_000);
    const { sender, receiver, pair } = reliablePair(
      file,
      { chunkSize: 10_000, window: 50_000 },
      { autoWrite: false },
    );
    settle(pair);
    const requested = sender.events
      .filter((event) => event.type === 'read-requested')
      .reduce((total, event) => total + event.length, 0);
    expect(requested).toBe(50_000);
    expect(receiver.file.length).toBe(50_000);
    receiver.flushWrites(pair.now);
    settle(pair);
    expect(receiver.file.length).toBe(100_000);
  });

  it('refuses, and the sender hears the code', () => {
    const { sender, receiver, pair } = reliablePair(content(10), {}, { autoAccept: false });
    settle(pair);
    receiver.receiver!.reject(pair.now, 'too-large', 'no thanks');
    settle(pair);
    expect(sender.events.at(-1)).toEqual({
      type: 'transfer-failed',
      code: 'too-large',
      message: 'no thanks',
      remote: true,
    });
    expect(receiver.events.at(-1)).toMatchObject({ type: 'transfer-failed', remote: false });
  });

  it('gives up an offer nobody answers, and tells the receiver', () => {
    const { sender, receiver, pair } = reliablePair(content(10), {}, { autoAccept: false });
    pair.runFor(300_001);
    expect(sender.events.at(-1)).toMatchObject({ type: 'transfer-failed', code: 'offer-timeout' });
    expect(receiver.receiver?.state).toBe('failed');
    // Its own clock ran out at the same time: it refused on its side.
    expect(receiver.events.at(-1)).toMatchObject({ code: 'offer-timeout' });
  });

  it('cancels midway from either side', () => {
    for (const side of ['sender', 'receiver'] as const) {
      const file = content(200_000);
      const { sender, receiver, pair } = reliablePair(
        file,
        { chunkSize: 10_000, window: 20_000 },
        { autoWrite: false },
      );
      settle(pair);
      if (side === 'sender') sender.sender.cancel(pair.now);
      else receiver.receiver!.cancel(pair.now);
      receiver.flushWrites(pair.now);
      settle(pair);
      const [local, remote] = side === 'sender' ? [sender, receiver] : [receiver, sender];
      expect(local.events.at(-1)).toMatchObject({ code: 'cancelled', remote: false });
      expect(remote.events.at(-1)).toMatchObject({ code: 'cancelled', remote: true });
      expect(receiver.file.length).toBeLessThan(file.length);
    }
  });

  it('fails as source-changed when the file shrinks under the reader', () => {
    const file = content(100_000);
    const { sender, receiver, pair } = reliablePair(file, {
      chunkSize: 10_000,
      source: (offset, length) => file.slice(offset, Math.min(offset + length, 55_000)),
    });
    settle(pair);
    expect(sender.events.at(-1)).toMatchObject({ code: 'source-changed', remote: false });
    expect(receiver.events.at(-1)).toMatchObject({ code: 'source-changed', remote: true });
  });

  it('starts over once when the digest does not match, and succeeds if the second pass does', () => {
    const file = content(60_000);
    let pass = 0;
    const { sender, receiver, pair } = reliablePair(file, {
      chunkSize: 10_000,
      source: (offset, length) => {
        const bytes = file.slice(offset, offset + length);
        // The first read of the second chunk comes back damaged (a bad disk, say).
        if (offset === 10_000 && pass++ === 0) bytes[5]! ^= 1;
        return bytes;
      },
    });
    settle(pair);
    expect(receiver.events.filter((event) => event.type === 'transfer-restarted')).toHaveLength(1);
    expectSameBytes(receiver.file, file);
    expect(sender.sender.state).toBe('done');
  });

  it('fails as hash-mismatch when the second pass does not match either', () => {
    const file = content(30_000);
    const { sender, receiver, pair } = reliablePair(file, {
      source: (offset, length) => {
        const bytes = file.slice(offset, offset + length);
        bytes[0]! ^= 0xff;
        return bytes;
      },
    });
    settle(pair);
    expect(receiver.events.at(-1)).toMatchObject({ code: 'hash-mismatch', remote: false });
    expect(sender.events.at(-1)).toMatchObject({ code: 'hash-mismatch', remote: true });
  });

  it('tells the sender when the file could not be saved (disk full)', () => {
    const { sender, receiver, pair } = reliablePair(content(1000), {}, { autoSave: false });
    settle(pair);
    expect(receiver.receiver?.state).toBe('verifying');
    // The sender knows every byte arrived; it waits for `done`.
    expect(sender.sender.state).toBe('finishing');
    receiver.receiver!.saveFailed('no space left on device', pair.now);
    settle(pair);
    expect(sender.events.at(-1)).toEqual({
      type: 'transfer-failed',
      code: 'save-failed',
      message: 'no space left on device',
      remote: true,
    });
  });

  it('resumes after a dropped connection from what the receiver has, sending nothing twice', () => {
    const file = content(500_000);
    const { sender, receiver, pair } = reliablePair(
      file,
      { chunkSize: 10_000, window: 100_000 },
      { autoWrite: false },
    );
    settle(pair);
    receiver.flushWrites(pair.now);
    settle(pair);
    // The link drops: what is queued on either side is lost.
    sender.up = false;
    receiver.up = false;
    sender.sender.interrupt(pair.now);
    receiver.flushWrites(pair.now);
    settle(pair);
    const had = receiver.file.length;
    expect(had).toBeGreaterThan(0);
    expect(had).toBeLessThan(file.length);
    sender.up = true;
    receiver.up = true;
    const before = sender.sent.length;
    sender.sender.resume(pair.now);
    settle(pair);
    receiver.flushWrites(pair.now);
    for (let round = 0; round < 100 && sender.sender.state !== 'done'; round++) {
      settle(pair);
      receiver.flushWrites(pair.now);
    }
    expect(sender.sender.state).toBe('done');
    expectSameBytes(receiver.file, file);
    expect(sender.sent.slice(before).every(({ offset }) => offset >= had)).toBe(true);
    expect(sender.events.filter((event) => event.type === 'transfer-accepted')).toEqual([
      { type: 'transfer-accepted', offset: 0 },
      { type: 'transfer-accepted', offset: had },
    ]);
  });

  it('resumes from a partial file on disk in a new receiver', () => {
    const file = content(100_000);
    const { sender, receiver, pair } = reliablePair(
      file,
      { chunkSize: 8_000 },
      { existing: file.slice(0, 40_000) },
    );
    settle(pair);
    expectSameBytes(receiver.file, file);
    expect(sender.sent[0]?.offset).toBe(40_000);
    expect(sender.sender.state).toBe('done');
  });

  it('fails as stalled when the other side goes quiet, on both sides', () => {
    const file = content(100_000);
    const { sender, receiver, pair } = reliablePair(
      file,
      { chunkSize: 10_000, window: 20_000 },
      { autoWrite: false },
    );
    settle(pair);
    // The link is gone: nothing either says arrives any more.
    receiver.up = false;
    sender.up = false;
    receiver.flushWrites(pair.now);
    pair.runFor(61_000);
    expect(sender.events.at(-1)).toMatchObject({ code: 'stalled', remote: false });
    expect(receiver.events.at(-1)).toMatchObject({ code: 'stalled', remote: false });
  });

  it('answers a message for a finished transfer with how it ended', () => {
    const receiver = new FileReceiver({
      offer: {
        type: 'offer',
        transfer: ID,
        name: 'x',
        size: 10,
        sha256: new Uint8Array(32),
        md5: new Uint8Array(16),
      },
      now: 0,
    });
    receiver.cancel(0);
    expect(receiver.pollMessage(0)).toMatchObject({ type: 'cancel', code: 'cancelled' });
    receiver.receive({ type: 'data', transfer: ID, offset: 0, bytes: new Uint8Array(5) }, 1);
    expect(receiver.pollMessage(1)).toMatchObject({ type: 'cancel', code: 'cancelled' });
    expect(receiver.pollMessage(1)).toBeUndefined();
  });

  it("ignores the server's unknown-transfer answer to data sent before an interruption, once it offers again", () => {
    const sender = new FileSender({ ...describeFile(ID, 'x', content(100)), now: 0 });
    sender.pollMessage(0);
    sender.receive({ type: 'accept', transfer: ID, offset: 0, window: 1000, attempt: 0 }, 1);
    sender.interrupt(2);
    sender.resume(3);
    expect(sender.pollMessage(3)).toMatchObject({ type: 'offer' });
    // Late: the server forgot the transfer when the receiver left, then met data sent before.
    const stale: TransferMessage = {
      type: 'cancel',
      transfer: ID,
      code: 'unknown-transfer',
      message: 'gone',
    };
    sender.receive(stale, 4);
    expect(sender.state).toBe('offering');
    sender.receive({ type: 'accept', transfer: ID, offset: 40, window: 1000, attempt: 0 }, 5);
    expect(sender.state).toBe('sending');
    // Once sending, the same answer ends the transfer: the server has no such transfer.
    sender.receive(stale, 6);
    expect(sender.state).toBe('failed');
  });

  it('fails the transfer, not the caller, when the peer breaks the protocol', () => {
    const sender = new FileSender({ ...describeFile(ID, 'x', content(100)), now: 0 });
    sender.pollMessage(0);
    sender.receive({ type: 'accept', transfer: ID, offset: 500, window: 10, attempt: 0 }, 1);
    expect(sender.state).toBe('failed');
    expect(sender.pollMessage(1)).toMatchObject({ type: 'cancel', code: 'protocol-error' });

    const receiver = new FileReceiver({ offer: sender.offer, now: 0 });
    receiver.accept(0);
    receiver.receive({ type: 'data', transfer: ID, offset: 90, bytes: new Uint8Array(20) }, 1);
    expect(receiver.state).toBe('failed');
    expect(receiver.nextEvent()).toMatchObject({ code: 'protocol-error' });
  });

  it('makes ids from 16 random bytes and refuses anything else', () => {
    expect(transferIdFromBytes(new Uint8Array(16).fill(0xab))).toBe('ab'.repeat(16));
    expect(() => transferIdFromBytes(new Uint8Array(15))).toThrow(/16 bytes/);
    expect(() => new FileSender({ ...describeFile('XYZ', 'x', content(1)), now: 0 })).toThrow(
      /32 lowercase/,
    );
  });
});

/** Runs one transfer over a lossy datagram link; returns both endpoints. */
function lossyTransfer(
  file: Uint8Array,
  seed: number,
  link: { loss: number; duplication: number; reordering: number },
  chunkSize: number,
  window: number,
) {
  const sender = new SenderEndpoint(
    // Long stall timeouts: this is about the bytes, not about giving up on a link that loses
    // many messages in a row.
    {
      ...describeFile(ID, 'data.bin', file),
      now: 0,
      reliable: false,
      chunkSize,
      stallTimeout: 3_600_000,
    },
    file,
  );
  const receiver = new ReceiverEndpoint({ reliable: false, window, stallTimeout: 3_600_000 });
  const pair = new TestingPair(sender, receiver, {
    mode: 'datagram',
    seed,
    latency: { min: 1, max: 20 },
    reorderDelay: { min: 1, max: 30 },
    ...link,
  });
  pair.runUntil(
    () =>
      (sender.sender.state === 'done' || sender.sender.state === 'failed') &&
      (receiver.receiver?.state === 'done' || receiver.receiver?.state === 'failed'),
    { maxTime: 36_000_000 },
  );
  return { sender, receiver, pair };
}

describe('file transfer over a lossy datagram link', () => {
  it('gets a file through 20% loss, duplication and reordering', () => {
    const file = content(200_000, 7);
    const { sender, receiver } = lossyTransfer(
      file,
      3,
      { loss: 0.2, duplication: 0.1, reordering: 0.2 },
      1_000,
      32_000,
    );
    expectSameBytes(receiver.file, file);
    expect(sender.sender.state).toBe('done');
    expect(receiver.receiver?.state).toBe('done');
    expect(receiver.maxUnwritten).toBeLessThanOrEqual(32_000);
  });

  it('property: any content, chunk size, window and loss schedule gives the same file', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.double({ min: 0, max: 0.3, noNaN: true }),
        fc.double({ min: 0, max: 0.3, noNaN: true }),
        fc.double({ min: 0, max: 0.5, noNaN: true }),
        fc.integer({ min: 200, max: 2_000 }),
        // A window of at least a few datagrams: smaller ones work, at one round trip per byte.
        fc.integer({ min: 2_000, max: 40_000 }),
        (length, seed, loss, duplication, reordering, chunkSize, window) => {
          const file = content(length, seed);
          const { sender, receiver } = lossyTransfer(
            file,
            seed,
            { loss, duplication, reordering },
            chunkSize,
            window,
          );
          expectSameBytes(receiver.file, file);
          expect(sender.sender.state).toBe('done');
          expect(receiver.receiver?.state).toBe('done');
        },
      ),
      { numRuns: 3_000 },
    );
  });
});

describe('file transfer over a reliable link, as a property', () => {
  it('any content, chunk size and window, writes reported at any pace, gives the same file', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 50_000 }),
        // Chunks of a few bytes are covered above; here they would only make runs slow.
        fc.integer({ min: 500, max: 20_000 }),
        fc.integer({ min: 2_000, max: 60_000 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 20 }),
        (length, chunkSize, window, pace) => {
          const file = content(length, length);
          const { sender, receiver, pair } = reliablePair(
            file,
            { chunkSize, window },
            { autoWrite: false },
          );
          for (let round = 0; round < 200_000 && sender.sender.state !== 'done'; round++) {
            settle(pair);
            if (pace[round % pace.length]) receiver.flushWrites(pair.now);
            else {
              // Hold the writes one more round.
              settle(pair);
              receiver.flushWrites(pair.now);
            }
          }
          expectSameBytes(receiver.file, file);
          expect(sender.sender.state).toBe('done');
          expect(receiver.maxUnwritten).toBeLessThanOrEqual(Math.max(window, 1));
        },
      ),
      { numRuns: 3_000 },
    );
  });
});
