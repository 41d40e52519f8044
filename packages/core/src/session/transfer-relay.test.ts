import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChatNetwork } from '../../test/chat-network.js';
import { createMd5 } from '../integrity/md5.js';
import { createSha256 } from '../integrity/sha256.js';
import { SeededRandom } from '../testing/random.js';
import { TransferSet, type TransferSetEvent } from '../transfer/transfer-set.js';
import { DEFAULT_MAX_BACKLOG_BYTES } from './chat-server.js';
import type { ChatClientOptions } from './chat-client.js';
import { AEAD_TAG_LENGTH } from '../crypto/crypto-provider.js';
import { DEFAULT_SEALED_TRANSFER_CHUNK_SIZE } from '../transfer/transfer-messages.js';
import { TRANSFER_CIPHER, encodeTransferData, sealTransferData } from './transfer-data.js';
import { TransferRelay } from './transfer-relay.js';
import { nodeCryptoProvider } from '../crypto/node-crypto-provider.js';

function content(length: number, seed = 1): Uint8Array {
  const random = new SeededRandom(seed);
  const bytes = new Uint8Array(length);
  for (let index = 0; index < length; index++) bytes[index] = random.nextInt(0, 255);
  return bytes;
}

function digests(file: Uint8Array) {
  return {
    sha256: createSha256().update(file).digest(),
    md5: createMd5().update(file).digest(),
  };
}

let seed = 0;

/**
 * One user's side of file transfers, as an app drives it: a TransferSet beside the user's chat
 * session in the network, files in memory, writes reported when `autoWrite` says so.
 */
class Peer {
  readonly transfers = new TransferSet({
    randomBytes: (length) => {
      const random = new SeededRandom(++seed);
      return Uint8Array.from({ length }, () => random.nextInt(0, 255));
    },
  });
  readonly events: TransferSetEvent[] = [];
  /** Files to send, by transfer id. */
  readonly outgoing = new Map<string, Uint8Array>();
  /** Files received, by transfer id, in pieces. */
  readonly incoming = new Map<string, Uint8Array[]>();
  readonly #unwritten = new Map<string, number>();
  autoAccept = true;
  autoWrite = true;
  /** Client events already given to the transfer set. */
  #seen = 0;

  constructor(
    readonly network: ChatNetwork,
    readonly name: string,
  ) {}

  get test() {
    return this.network.get(this.name);
  }

  send(to: string, file: Uint8Array, name = 'file.bin'): string {
    const transfer = this.transfers.offer(
      to,
      { name, size: file.length, ...digests(file) },
      this.network.now,
    );
    this.outgoing.set(transfer, file);
    return transfer;
  }

  received(transfer: string): Uint8Array {
    const pieces = this.incoming.get(transfer) ?? [];
    const file = new Uint8Array(pieces.reduce((total, piece) => total + piece.length, 0));
    let offset = 0;
    for (const piece of pieces) {
      file.set(piece, offset);
      offset += piece.length;
    }
    return file;
  }

  /** Reports every write not yet reported. */
  flushWrites(): void {
    for (const [transfer, offset] of this.#unwritten) {
      this.transfers.written(transfer, offset, this.network.now);
    }
    this.#unwritten.clear();
  }

  /** A reconnection: the old session is gone, the transfers stay. */
  reconnected(): void {
    this.#seen = 0;
    this.transfers.linkUp(this.network.now);
  }

  step(): boolean {
    const now = this.network.now;
    const test = this.test;
    let moved = false;
    while (this.#seen < test.events.length) {
      this.transfers.handleEvent(test.events[this.#seen++]!, now);
      moved = true;
    }
    for (
      let event = this.transfers.nextEvent();
      event !== undefined;
      event = this.transfers.nextEvent()
    ) {
      moved = true;
      this.events.push(event);
      switch (event.type) {
        case 'transfer-offered':
          if (this.autoAccept) this.transfers.accept(event.transfer, now);
          break;
        case 'read-requested': {
          const file = this.outgoing.get(event.transfer)!;
          this.transfers.supply(
            event.transfer,
            event.offset,
            file.slice(event.offset, event.offset + event.length),
            now,
          );
          break;
        }
        case 'data-received': {
          const pieces = this.incoming.get(event.transfer) ?? [];
          pieces.push(event.bytes.slice());
          this.incoming.set(event.transfer, pieces);
          const end = event.offset + event.bytes.length;
          if (this.autoWrite) this.transfers.written(event.transfer, end, now);
          else this.#unwritten.set(event.transfer, end);
          break;
        }
        case 'transfer-verified':
          this.transfers.saved(event.transfer, now);
          break;
        default:
          break;
      }
    }
    if (test.connected && test.client.state === 'online') {
      for (
        let output = this.transfers.poll(now, test.client.transferCapacity);
        output !== undefined;
        output = this.transfers.poll(now, test.client.transferCapacity)
      ) {
        moved = true;
        if (output.to !== undefined) test.client.offerFile(output.to, output.message, now);
        else test.client.sendTransfer(output.message, now);
      }
    }
    return moved;
  }
}

/** Runs the network and the peers until nothing moves. */
function settle(network: ChatNetwork, peers: readonly Peer[]): void {
  for (let round = 0; round < 100_000; round++) {
    network.run();
    let moved = false;
    for (const peer of peers) moved = peer.step() || moved;
    if (!moved) return;
  }
  throw new Error('the transfers did not settle');
}

function lastOf(peer: Peer, type: TransferSetEvent['type']): TransferSetEvent | undefined {
  return peer.events.filter((event) => event.type === type).at(-1);
}

function setUp(bobOptions: Partial<ChatClientOptions> = {}) {
  const network = new ChatNetwork();
  network.login('alice');
  network.login('bob', {}, bobOptions);
  const alice = new Peer(network, 'alice');
  const bob = new Peer(network, 'bob');
  settle(network, [alice, bob]);
  return { network, alice, bob };
}

describe('file transfer through the server', () => {
  it('relays a file from one user to another, whole and checked, and forgets it after', () => {
    const { network, alice, bob } = setUp();
    const file = content(1_000_000);
    const transfer = alice.send('bob', file, 'photo.jpg');
    settle(network, [alice, bob]);
    expect(lastOf(bob, 'transfer-offered')).toMatchObject({
      peer: 'alice',
      name: 'photo.jpg',
      size: 1_000_000,
      sha256: Buffer.from(digests(file).sha256).toString('hex'),
    });
    expect(Buffer.from(bob.received(transfer)).equals(Buffer.from(file))).toBe(true);
    expect(lastOf(alice, 'transfer-completed')).toMatchObject({ transfer, direction: 'outgoing' });
    expect(lastOf(bob, 'transfer-completed')).toMatchObject({ transfer, direction: 'incoming' });
    expect(network.server.statistics.transfers).toBe(0);
    // A link that goes down after the end interrupts nothing.
    const before = alice.events.length;
    alice.transfers.handleEvent({ type: 'transfer-interrupted', transfer }, network.now);
    expect(alice.transfers.nextEvent()).toBeUndefined();
    expect(alice.events.length).toBe(before);
  });

  it('sends files both ways at once', () => {
    const { network, alice, bob } = setUp();
    const one = content(300_000, 1);
    const two = content(200_000, 2);
    const first = alice.send('bob', one);
    const second = bob.send('alice', two);
    settle(network, [alice, bob]);
    expect(Buffer.from(bob.received(first)).equals(Buffer.from(one))).toBe(true);
    expect(Buffer.from(alice.received(second)).equals(Buffer.from(two))).toBe(true);
  });

  it('completes many transfers to one receiver at once, each with a thin share of the budget', () => {
    const { network, alice, bob } = setUp();
    const files = Array.from({ length: 12 }, (_, index) => content(300_000 + index, index));
    const transfers = files.map((file) => alice.send('bob', file));
    settle(network, [alice, bob]);
    for (const [index, transfer] of transfers.entries()) {
      expect(Buffer.from(bob.received(transfer)).equals(Buffer.from(files[index]!))).toBe(true);
    }
    expect(alice.events.filter((event) => event.type === 'transfer-completed')).toHaveLength(12);
  });

  it('lets a chat line overtake file data waiting at the server for a slow receiver', () => {
    const { network, alice, bob } = setUp();
    bob.autoWrite = false;
    const transfer = alice.send('bob', content(12_000_000));
    settle(network, [alice, bob]);
    // Bob's socket is full: what the server has for him waits, file data outside his channel.
    network.server.setWritable(network.get('bob').connection, false);
    bob.flushWrites();
    settle(network, [alice, bob]);
    const before = network.get('bob').events.length;
    network.get('alice').client.say('lobby', 'are you there?', network.now);
    network.run();
    network.server.setWritable(network.get('bob').connection, true);
    network.run();
    const after = network.get('bob').events.slice(before);
    const line = after.findIndex((event) => event.type === 'message-received');
    const dataAhead = after
      .slice(0, line)
      .filter((event) => event.type === 'transfer-message' && event.message.type === 'data');
    expect(line).toBeGreaterThanOrEqual(0);
    // At most the channel's high water of file data (256 KiB: 4 chunks) is ahead of the line.
    expect(dataAhead.length).toBeLessThanOrEqual(5);
    expect(
      after.filter((event) => event.type === 'transfer-message' && event.message.type === 'data')
        .length,
    ).toBeGreaterThan(dataAhead.length);
    bob.autoWrite = true;
    bob.flushWrites();
    settle(network, [alice, bob]);
    expect(lastOf(bob, 'transfer-completed')).toMatchObject({ transfer });
  });

  it('completes a transfer on a server whose budget for a receiver is under one chunk', () => {
    const network = new ChatNetwork({ server: { maxBacklogBytes: 65_536 } });
    network.login('alice');
    network.login('bob');
    const alice = new Peer(network, 'alice');
    const bob = new Peer(network, 'bob');
    const file = content(500_000);
    const transfer = alice.send('bob', file);
    settle(network, [alice, bob]);
    expect(Buffer.from(bob.received(transfer)).equals(Buffer.from(file))).toBe(true);
  });

  it('holds no more file data for a receiver than half its backlog, and chat goes on', () => {
    const { network, alice, bob } = setUp();
    bob.autoWrite = false;
    const file = content(8_000_000);
    const transfer = alice.send('bob', file);
    settle(network, [alice, bob]);
    // Bob writes nothing: the data in flight stops at the server's clamp of his window.
    const held = bob.received(transfer).length;
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(DEFAULT_MAX_BACKLOG_BYTES / 2);
    network.get('alice').client.say('lobby', 'still chatting?', network.now);
    settle(network, [alice, bob]);
    expect(network.eventsOf('bob', 'message-received').at(-1)).toMatchObject({
      text: 'still chatting?',
    });
    bob.autoWrite = true;
    bob.flushWrites();
    settle(network, [alice, bob]);
    expect(Buffer.from(bob.received(transfer)).equals(Buffer.from(file))).toBe(true);
  });

  it('resumes after the receiver drops and comes back, without resending what it has', () => {
    const { network, alice, bob } = setUp();
    bob.autoWrite = false;
    const file = content(10_000_000);
    const transfer = alice.send('bob', file);
    settle(network, [alice, bob]);
    bob.flushWrites();
    settle(network, [alice, bob]);
    const had = bob.received(transfer).length;
    network.drop('bob');
    bob.transfers.linkDown(network.now);
    settle(network, [alice, bob]);
    expect(lastOf(alice, 'transfer-interrupted')).toMatchObject({ transfer });
    expect(network.server.statistics.transfers).toBe(0);
    network.login('bob');
    bob.reconnected();
    bob.autoWrite = true;
    bob.flushWrites();
    settle(network, [alice, bob]);
    expect(Buffer.from(bob.received(transfer)).equals(Buffer.from(file))).toBe(true);
    const offsets = alice.events.flatMap((event) =>
      event.type === 'transfer-accepted' ? [event.offset] : [],
    );
    expect(offsets).toEqual([0, had]);
    expect(lastOf(alice, 'transfer-completed')).toBeDefined();
  });

  it('resumes after the sender drops and comes back', () => {
    const { network, alice, bob } = setUp();
    bob.autoWrite = false;
    const file = content(6_000_000);
    const transfer = alice.send('bob', file);
    settle(network, [alice, bob]);
    network.drop('alice');
    alice.transfers.linkDown(network.now);
    bob.flushWrites();
    settle(network, [alice, bob]);
    expect(lastOf(bob, 'transfer-interrupted')).toMatchObject({ transfer });
    network.login('alice');
    alice.reconnected();
    bob.autoWrite = true;
    settle(network, [alice, bob]);
    expect(Buffer.from(bob.received(transfer)).equals(Buffer.from(file))).toBe(true);
    expect(lastOf(bob, 'transfer-completed')).toBeDefined();
  });

  it('gives up on a peer that does not come back: sender gone, receiver gone', () => {
    for (const gone of ['alice', 'bob'] as const) {
      const { network, alice, bob } = setUp();
      bob.autoWrite = false;
      const transfer = alice.send('bob', content(6_000_000));
      settle(network, [alice, bob]);
      network.drop(gone);
      settle(network, [alice, bob]);
      const stayed = gone === 'alice' ? bob : alice;
      network.advance(61_000);
      stayed.transfers.handleTimeout(network.now);
      settle(network, [alice, bob]);
      expect(lastOf(stayed, 'transfer-failed')).toMatchObject({
        transfer,
        code: 'stalled',
        remote: false,
      });
    }
  });

  it('fails an offer to nobody, and one that the receiver refuses', () => {
    const { network, alice, bob } = setUp();
    alice.send('carol', content(10));
    bob.autoAccept = false;
    const refused = alice.send('bob', content(10));
    settle(network, [alice, bob]);
    expect(alice.events.filter((event) => event.type === 'transfer-failed')).toMatchObject([
      { code: 'no-such-user', remote: true },
    ]);
    bob.transfers.reject(refused, network.now);
    settle(network, [alice, bob]);
    expect(lastOf(alice, 'transfer-failed')).toMatchObject({
      transfer: refused,
      code: 'rejected',
      remote: true,
    });
  });

  it('refuses more transfers to one receiver than the server allows', () => {
    const network = new ChatNetwork({ server: { maxTransfersPerUser: 2 } });
    network.login('alice');
    network.login('bob');
    const alice = new Peer(network, 'alice');
    const bob = new Peer(network, 'bob');
    bob.autoAccept = false;
    for (let index = 0; index < 3; index++) alice.send('bob', content(10, index));
    settle(network, [alice, bob]);
    expect(alice.events.filter((event) => event.type === 'transfer-failed')).toMatchObject([
      { code: 'too-many-transfers' },
    ]);
  });

  it('ends a transfer whose sender sends beyond the credit, and nothing else', () => {
    const { network, alice, bob } = setUp();
    bob.autoAccept = false;
    const transfer = alice.send('bob', content(10_000_000));
    settle(network, [alice, bob]);
    // Alice's client, misbehaving: data before any acceptance.
    network
      .get('alice')
      .client.sendTransfer(
        { type: 'data', transfer, offset: 0, bytes: new Uint8Array(1000) },
        network.now,
      );
    settle(network, [alice, bob]);
    expect(lastOf(alice, 'transfer-failed')).toMatchObject({
      code: 'protocol-error',
      remote: true,
    });
    expect(lastOf(bob, 'transfer-failed')).toMatchObject({ code: 'protocol-error', remote: true });
    expect(network.get('alice').client.state).toBe('online');
    expect(network.get('bob').client.state).toBe('online');
    expect(network.server.statistics.transfers).toBe(0);
  });

  it('answers data for a transfer it does not know with a cancel', () => {
    const { network, alice } = setUp();
    const unknown = 'cd'.repeat(16);
    network
      .get('alice')
      .client.sendTransfer(
        { type: 'data', transfer: unknown, offset: 0, bytes: new Uint8Array(10) },
        network.now,
      );
    network.run();
    expect(network.eventsOf('alice', 'transfer-message').at(-1)).toMatchObject({
      message: { type: 'cancel', transfer: unknown, code: 'unknown-transfer' },
    });
    expect(alice.test.client.state).toBe('online');
  });

  it('encodes file data as the protocol document shows', () => {
    const bytes = encodeTransferData({
      type: 'data',
      transfer: '00112233445566778899aabbccddeeff',
      offset: 65_536,
      bytes: Uint8Array.of(0x68, 0x69),
    });
    expect(Buffer.from(bytes).toString('hex')).toBe(
      '02' + '00112233445566778899aabbccddeeff' + '0000000000010000' + '6869',
    );
  });
});

describe('file data sealed end to end', () => {
  /** A sealed chunk as it travels: the chunk and its tag, a buffer of its own. */
  const TAIL = DEFAULT_SEALED_TRANSFER_CHUNK_SIZE + AEAD_TAG_LENGTH;

  /** Records what the network carries: the buffers each client sends, the bytes each receives. */
  function record(network: ChatNetwork) {
    const up = new Map<string, Uint8Array[]>();
    const down = new Map<string, Uint8Array[]>();
    network.tap = (direction, name, data) => {
      const log = direction === 'up' ? up : down;
      log.set(name, [...(log.get(name) ?? []), Uint8Array.from(data)]);
      return data;
    };
    const stream = (log: Map<string, Uint8Array[]>, name: string) =>
      Buffer.concat(log.get(name) ?? []);
    return { up, down, stream };
  }

  it('goes from sender to receiver as the sender sealed it: the server relays each chunk as it is, and no file byte travels in the clear', () => {
    const { network, alice, bob } = setUp();
    const { up, down, stream } = record(network);
    const file = content(1_000_000, 7);
    const transfer = alice.send('bob', file);
    settle(network, [alice, bob]);
    expect(Buffer.from(bob.received(transfer)).equals(Buffer.from(file))).toBe(true);
    expect(lastOf(alice, 'transfer-completed')).toBeDefined();
    const tails = (up.get('alice') ?? []).filter((data) => data.length === TAIL);
    expect(tails.length).toBe(Math.floor(file.length / DEFAULT_SEALED_TRANSFER_CHUNK_SIZE));
    const toBob = stream(down, 'bob');
    for (const tail of tails) expect(toBob.includes(Buffer.from(tail))).toBe(true);
    for (const at of [0, 500_000, 999_968]) {
      const window = Buffer.from(file.subarray(at, at + 32));
      expect(stream(up, 'alice').includes(window)).toBe(false);
      expect(toBob.includes(window)).toBe(false);
    }
  });

  it.each([
    ['on datagrams', { transport: 'datagram' as const }],
    ['set not to seal files', { sealFiles: false }],
  ])(
    'is sealed by each hop instead when the receiver is %s, and the file arrives whole',
    (_what, bobOptions) => {
      const { network, alice, bob } = setUp(bobOptions);
      const { up } = record(network);
      const file = content(300_000, 8);
      const transfer = alice.send('bob', file);
      settle(network, [alice, bob]);
      expect(Buffer.from(bob.received(transfer)).equals(Buffer.from(file))).toBe(true);
      expect(lastOf(alice, 'transfer-completed')).toBeDefined();
      // The receiver did not say `sealed`: alice sent no clear tail.
      expect((up.get('alice') ?? []).some((data) => data.length === TAIL)).toBe(false);
    },
  );

  it.each([
    ['on datagrams', { transport: 'datagram' as const }],
    ['set not to seal files', { sealFiles: false }],
  ])(
    'is sealed by each hop when the sender is %s, and the file arrives whole',
    (_what, options) => {
      const network = new ChatNetwork();
      network.login('alice', {}, options);
      network.login('bob');
      const alice = new Peer(network, 'alice');
      const bob = new Peer(network, 'bob');
      const { up } = record(network);
      const file = content(300_000, 9);
      const transfer = alice.send('bob', file);
      settle(network, [alice, bob]);
      expect(Buffer.from(bob.received(transfer)).equals(Buffer.from(file))).toBe(true);
      expect((up.get('alice') ?? []).some((data) => data.length === TAIL)).toBe(false);
    },
  );

  it('property: any file, any sizes of the network reads, either side sealing or not: the file arrives whole, and sealed only when both sides seal', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 700_000 }),
        fc.integer({ min: 1, max: 300_000 }),
        fc.integer({ min: 1, max: 1_000 }),
        fc.boolean(),
        fc.boolean(),
        (size, maxChunk, seed, aliceSeals, bobSeals) => {
          const network = new ChatNetwork({ maxChunk, seed });
          network.login('alice', {}, { sealFiles: aliceSeals });
          network.login('bob', {}, { sealFiles: bobSeals });
          const alice = new Peer(network, 'alice');
          const bob = new Peer(network, 'bob');
          let tails = 0;
          network.tap = (direction, name, data) => {
            if (direction === 'up' && name === 'alice' && data.length === TAIL) tails++;
            return data;
          };
          const file = content(size, seed);
          const transfer = alice.send('bob', file);
          settle(network, [alice, bob]);
          expect(Buffer.from(bob.received(transfer)).equals(Buffer.from(file))).toBe(true);
          expect(lastOf(alice, 'transfer-completed')).toBeDefined();
          expect(tails).toBe(
            aliceSeals && bobSeals ? Math.floor(size / DEFAULT_SEALED_TRANSFER_CHUNK_SIZE) : 0,
          );
        },
      ),
      { numRuns: 30 },
    );
  });

  it('fails the transfer, not the session, with tampered when a chunk was changed on the way; the sender is told, and chat goes on', () => {
    const { network, alice, bob } = setUp();
    const file = content(2_000_000, 10);
    let changed = 0;
    network.tap = (direction, name, data) => {
      if (direction === 'down' && name === 'bob' && data.length === TAIL && changed++ === 5) {
        const copy = Uint8Array.from(data);
        copy[100] = copy[100]! ^ 0x01;
        return copy;
      }
      return data;
    };
    const transfer = alice.send('bob', file);
    settle(network, [alice, bob]);
    expect(lastOf(bob, 'transfer-failed')).toMatchObject({
      transfer,
      code: 'tampered',
      remote: false,
    });
    expect(lastOf(alice, 'transfer-failed')).toMatchObject({
      transfer,
      code: 'tampered',
      remote: true,
    });
    expect(lastOf(bob, 'transfer-completed')).toBeUndefined();
    expect(bob.received(transfer).length).toBe(5 * DEFAULT_SEALED_TRANSFER_CHUNK_SIZE);
    expect(network.server.statistics.transfers).toBe(0);
    expect(bob.test.client.state).toBe('online');
    alice.test.client.say('lobby', 'still here', network.now);
    network.run();
    expect(network.eventsOf('bob', 'message-received').map((event) => event.text)).toEqual([
      'still here',
    ]);
    // Sent again, the file arrives whole.
    network.tap = undefined;
    const again = alice.send('bob', file);
    settle(network, [alice, bob]);
    expect(Buffer.from(bob.received(again)).equals(Buffer.from(file))).toBe(true);
  });
});

describe('the relay and sealed data', () => {
  function relayOf() {
    const sent: { to: string; message?: unknown; bytes?: Uint8Array }[] = [];
    const relay = new TransferRelay<string>(
      {
        send: (to, message) => sent.push({ to, message }),
        sendBytes: (to, bytes) => sent.push({ to, bytes }),
      },
      16,
      4 * 1024 * 1024,
    );
    const transfer = 'ab'.repeat(16);
    relay.offer('alice', 'alice', 'bob', {
      type: 'transfer-offer',
      id: 1,
      to: 'bob',
      transfer,
      name: 'f.bin',
      size: 1_000_000,
      sha256: '00'.repeat(32),
      md5: '00'.repeat(16),
      key: '11'.repeat(32),
    });
    const sealed = (bytes: number, offset = 0) => {
      const aead = nodeCryptoProvider.aead(TRANSFER_CIPHER, new Uint8Array(32));
      const { head, tail } = sealTransferData(
        { type: 'data', transfer, offset, bytes: new Uint8Array(bytes) },
        aead,
        0,
      );
      return Uint8Array.from(Buffer.concat([head, tail]));
    };
    return { relay, sent, transfer, sealed };
  }
  const accept = (transfer: string, sealed?: boolean) => ({
    type: 'transfer-accept' as const,
    transfer,
    offset: 0,
    window: 100_000,
    attempt: 0,
    ...(sealed === undefined ? {} : { sealed }),
  });

  it('relays the key of an offer and the sealed of an accept, and sealed data within the credit, as it is', () => {
    const { relay, sent, transfer, sealed } = relayOf();
    expect(sent[0]).toMatchObject({ to: 'bob', message: { key: '11'.repeat(32) } });
    relay.control('bob', accept(transfer, true));
    expect(sent[1]).toMatchObject({ to: 'alice', message: { sealed: true } });
    const data = sealed(50_000);
    relay.data('alice', data);
    expect(sent[2]).toEqual({ to: 'bob', bytes: data });
    // Past the credit: 100,000 bytes of file, however long the message with its header and tag.
    relay.data('alice', sealed(50_001, 50_000));
    expect(sent.slice(3)).toMatchObject([
      { to: 'alice', message: { type: 'transfer-cancel', code: 'protocol-error' } },
      { to: 'bob', message: { type: 'transfer-cancel', code: 'protocol-error' } },
    ]);
  });

  it('ends a transfer whose sender sends sealed data to a receiver that did not take it sealed', () => {
    for (const said of [undefined, false]) {
      const { relay, sent, transfer, sealed } = relayOf();
      relay.control('bob', accept(transfer, said));
      relay.data('alice', sealed(10));
      expect(sent.slice(2)).toMatchObject([
        { to: 'alice', message: { type: 'transfer-cancel', code: 'protocol-error' } },
        { to: 'bob', message: { type: 'transfer-cancel', code: 'protocol-error' } },
      ]);
      expect(relay.size).toBe(0);
    }
  });
});
