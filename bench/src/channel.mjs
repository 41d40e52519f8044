// @ts-check
/**
 * Channel benchmark: seal + open throughput through a pair of open StreamChannels (the handshake
 * done once, outside the clock), against raw node:crypto ChaCha20-Poly1305 on the same message
 * sizes: per message one createCipheriv/update/final/getAuthTag and one
 * createDecipheriv/setAuthTag/update/final, with the same 12-byte counter nonces, nothing else.
 *
 * Three cases: the largest single frame (65,516-byte messages, one record filling one 65,535-byte
 * Noise message each; the 64 KiB target is judged here), 65,536-byte messages (two frames each,
 * reported), and 1 KiB messages (no target: the output says what bounds it). Each message is
 * taken out with pollTransmit() as soon as it is sent, so the channel seals one message per
 * transport message: this measures the cost per message of an application that writes after every
 * send, not the batching of the messages of one turn into one seal. Extra rows explain the gaps: at
 * 64 KiB, raw cut into frames like the channel cuts the message, and that plus the whole-buffer
 * copies the channel makes; at 1 KiB, the layers under the channel (the provider's Aead, then
 * Noise's CipherState) and raw on 0-byte messages, which is node:crypto's cost per message before
 * it touches a byte.
 *
 * @module
 */

import { Buffer } from 'node:buffer';
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes } from 'node:crypto';
import {
  CipherState,
  DEFAULT_NOISE_PROTOCOL,
  DEFAULT_REKEY_INTERVAL,
  MAX_COALESCED_WRITE,
  MAX_STREAM_FRAGMENT_LENGTH,
  NOISE_MAX_MESSAGE_LENGTH,
  STREAM_FRAME_HEADER_LENGTH,
  STREAM_RECORD_HEADER_LENGTH,
  StreamChannel,
  TransportType,
  nodeCryptoProvider,
} from '@lanchat/core';
import {
  bytesEqual,
  collectGarbage,
  formatRate,
  formatTable,
  measureInterleaved,
  median,
  printToStdout,
  roundSignificant,
  roundTo,
} from './lib.mjs';

/** @typedef {import('./lib.mjs').Contender<Tally>} ChannelContender */

/**
 * What a pass saw: enough to prove every message came through whole, and to keep the JIT from
 * optimising the loop away.
 *
 * @typedef {{ messages: number, bytes: number, checksum: number }} Tally
 */

/**
 * @typedef {object} CaseSpec
 * @property {'frame' | 'message64KiB' | 'message1KiB'} name
 * @property {string} title
 * @property {number} messageBytes
 * @property {number} messages per pass
 * @property {number | undefined} target lanchat's minimum speed as a multiple of raw's
 * @property {boolean} judged whether the target decides pass or fail, or is only reported
 * @property {boolean} layers add the Aead and CipherState rows
 * @property {boolean} setupProbe add raw AEAD on 0-byte messages
 * @property {boolean} splitProbe add raw AEAD cut into frames as the channel cuts the message
 * @property {boolean} copyProbe add that plus the whole-buffer copies the channel makes
 */

const ROUNDS = 5;
const TAG_BYTES = 16;
const NONCE_BYTES = 12;
// A prime period, so that consecutive messages differ in their first and last bytes, and a message
// delivered twice, or another message's bytes, fail the checksum.
const PATTERN_PERIOD = 251;
/** Every this many messages (and the first), the whole payload is compared, not just its ends. */
const FULL_COMPARE_EVERY = 64;
const EMPTY = new Uint8Array(0);
/** Record bodies the channel copies behind their header; longer ones go to the cipher uncopied. */
const CHANNEL_COPY_LIMIT = 4096;

/** @type {readonly CaseSpec[]} */
const CASES = [
  {
    name: 'frame',
    title:
      `64 KiB frame: ${MAX_STREAM_FRAGMENT_LENGTH.toLocaleString('en-US')}-byte messages, each ` +
      `one ${NOISE_MAX_MESSAGE_LENGTH.toLocaleString('en-US')}-byte Noise message (the largest frame)`,
    messageBytes: MAX_STREAM_FRAGMENT_LENGTH,
    messages: 5000,
    target: 0.85,
    judged: true,
    layers: false,
    setupProbe: false,
    splitProbe: false,
    copyProbe: true,
  },
  {
    name: 'message64KiB',
    title:
      '64 KiB message: 65,536-byte messages, each split by the channel into 2 frames ' +
      `(${MAX_STREAM_FRAGMENT_LENGTH.toLocaleString('en-US')} + ` +
      `${(65_536 - MAX_STREAM_FRAGMENT_LENGTH).toLocaleString('en-US')} B); raw seals each message ` +
      'in one AEAD call',
    messageBytes: 65_536,
    messages: 5000,
    target: 0.85,
    judged: false,
    layers: false,
    setupProbe: false,
    splitProbe: true,
    copyProbe: true,
  },
  {
    name: 'message1KiB',
    title: '1 KiB message: 1,024-byte messages, one frame each',
    messageBytes: 1024,
    messages: 30_000,
    target: undefined,
    judged: false,
    layers: true,
    setupProbe: true,
    splitProbe: false,
    copyProbe: false,
  },
];

/**
 * The payloads of one case: views of one pattern buffer, a different window per message, so that
 * no contender pays for making its input and all see the same bytes.
 *
 * @param {number} messageBytes
 */
function payloadSource(messageBytes) {
  const pattern = new Uint8Array(PATTERN_PERIOD + messageBytes);
  for (let k = 0; k < pattern.length; k++) pattern[k] = (k * 167 + 13) & 0xff;
  /** @param {number} index */
  const payload = (index) => {
    const start = index % PATTERN_PERIOD;
    return pattern.subarray(start, start + messageBytes);
  };
  return { payload };
}

/**
 * @param {Uint8Array} bytes
 * @returns {number}
 */
function firstPlusLast(bytes) {
  const length = bytes.length;
  if (length === 0) return 0;
  return /** @type {number} */ (bytes[0]) + /** @type {number} */ (bytes[length - 1]);
}

/**
 * @param {number} messageBytes
 * @param {number} messages
 * @returns {Tally}
 */
function expectedTally(messageBytes, messages) {
  const { payload } = payloadSource(messageBytes);
  let checksum = 0;
  for (let i = 0; i < messages; i++) checksum += firstPlusLast(payload(i));
  return { messages, bytes: messages * messageBytes, checksum };
}

/**
 * The per-message check shared by every contender, so that all pay the same for it: length and
 * ends always, the whole payload now and then.
 *
 * @param {string} label
 * @param {number} index
 * @param {Uint8Array} received
 * @param {Uint8Array} sent
 */
function checkMessage(label, index, received, sent) {
  if (
    received.length !== sent.length ||
    (index % FULL_COMPARE_EVERY === 0 && !bytesEqual(received, sent))
  ) {
    throw new Error(`${label}: message ${index} came out WRONG (${received.length} bytes)`);
  }
}

/**
 * A client and a server channel with the handshake done (and checked) outside the clock.
 *
 * @returns {{ client: StreamChannel, server: StreamChannel }}
 */
function openChannelPair() {
  const client = new StreamChannel({
    initiator: true,
    now: 0,
    staticKeyPair: nodeCryptoProvider.generateX25519KeyPair(),
  });
  const server = new StreamChannel({
    initiator: false,
    now: 0,
    staticKeyPair: nodeCryptoProvider.generateX25519KeyPair(),
  });
  for (let turn = 0; turn < 8; turn++) {
    const toServer = client.pollTransmit();
    if (toServer !== undefined) server.receive(toServer, 0);
    const toClient = server.pollTransmit();
    if (toClient !== undefined) client.receive(toClient, 0);
    if (toServer === undefined && toClient === undefined) break;
  }
  const clientEvent = client.nextEvent();
  const serverEvent = server.nextEvent();
  if (
    client.state !== 'open' ||
    server.state !== 'open' ||
    clientEvent?.type !== 'handshake-completed' ||
    serverEvent?.type !== 'handshake-completed' ||
    !bytesEqual(clientEvent.handshakeHash, serverEvent.handshakeHash)
  ) {
    throw new Error('channel: the handshake did not complete');
  }
  return { client, server };
}

/**
 * Ours: the whole channel, used as an application and a socket would use it, one message at a
 * time: send, take the bytes to write, feed them to the peer, take the event.
 *
 * @param {string} label
 * @param {{ client: StreamChannel, server: StreamChannel }} pair
 * @param {number} messageBytes
 * @param {number} messages
 * @returns {Tally}
 */
function runStreamChannel(label, pair, messageBytes, messages) {
  const { client, server } = pair;
  const { payload } = payloadSource(messageBytes);
  let bytes = 0;
  let checksum = 0;
  for (let i = 0; i < messages; i++) {
    const sent = payload(i);
    client.send(sent);
    // Everything the client has to write goes to the server, as a socket writer would do it.
    let wire = client.pollTransmit();
    if (wire === undefined) throw new Error(`${label}: nothing to transmit`);
    for (; wire !== undefined; wire = client.pollTransmit()) server.receive(wire, 0);
    const event = server.nextEvent();
    if (event?.type !== 'message-received') throw new Error(`${label}: no message event`);
    const received = event.payload;
    checkMessage(label, i, received, sent);
    bytes += received.length;
    checksum += firstPlusLast(received);
  }
  return { messages, bytes, checksum };
}

/**
 * Writes a counter into a 12-byte nonce as Noise's ChaChaPoly does: 4 zero bytes, then the counter
 * as a 64-bit little-endian integer.
 *
 * @param {Buffer} nonce
 * @param {number} counter
 */
function formatNonce(nonce, counter) {
  nonce.writeUInt32LE(counter >>> 0, 4);
  nonce.writeUInt32LE(Math.floor(counter / 0x1_0000_0000), 8);
}

/**
 * The raw reference: node:crypto's AEAD alone, one seal and one open per message.
 *
 * @param {string} label
 * @param {import('node:crypto').KeyObject} key
 * @param {number} messageBytes
 * @param {number} messages
 * @returns {Tally}
 */
function runRaw(label, key, messageBytes, messages) {
  const { payload } = payloadSource(messageBytes);
  const nonce = Buffer.alloc(NONCE_BYTES);
  let bytes = 0;
  let checksum = 0;
  for (let i = 0; i < messages; i++) {
    const sent = payload(i);
    formatNonce(nonce, i);
    const received = sealOpenRaw(key, nonce, sent);
    checkMessage(label, i, received, sent);
    bytes += received.length;
    checksum += firstPlusLast(received);
  }
  return { messages, bytes, checksum };
}

/**
 * The raw reference cut like the channel cuts a message larger than one frame: one AEAD call per
 * fragment of at most {@link MAX_STREAM_FRAGMENT_LENGTH} bytes, each under its own nonce, and no
 * reassembly. What the protocol's frame size costs raw node:crypto.
 *
 * @param {string} label
 * @param {import('node:crypto').KeyObject} key
 * @param {number} messageBytes
 * @param {number} messages
 * @returns {Tally}
 */
function runRawSplit(label, key, messageBytes, messages) {
  const { payload } = payloadSource(messageBytes);
  const nonce = Buffer.alloc(NONCE_BYTES);
  let counter = 0;
  let bytes = 0;
  let checksum = 0;
  for (let i = 0; i < messages; i++) {
    const sent = payload(i);
    let first = 0;
    let last = 0;
    for (let offset = 0; offset < sent.length; offset += MAX_STREAM_FRAGMENT_LENGTH) {
      const fragment = sent.subarray(offset, offset + MAX_STREAM_FRAGMENT_LENGTH);
      formatNonce(nonce, counter++);
      const received = sealOpenRaw(key, nonce, fragment);
      checkMessage(label, i, received, fragment);
      if (offset === 0) first = received[0] ?? 0;
      last = received[received.length - 1] ?? 0;
      bytes += received.length;
    }
    checksum += sent.length === 0 ? 0 : first + last;
  }
  return { messages, bytes, checksum };
}

/**
 * {@link runRawSplit} plus the whole-buffer copies the channel's design makes, and nothing else:
 * each sealed fragment copied into a fresh frame buffer behind a 4-byte header and, when a message
 * takes more than one frame, the frames copied into one buffer for the write when they fit in
 * MAX_COALESCED_WRITE (pollTransmit's coalescing) and the opened fragments copied into one message
 * (reassembly). The difference to {@link runRawSplit} is what those copies cost in
 * place, with the allocator and caches as busy as they are in the channel.
 *
 * @param {string} label
 * @param {import('node:crypto').KeyObject} key
 * @param {number} messageBytes
 * @param {number} messages
 * @returns {Tally}
 */
function runRawSplitCopying(label, key, messageBytes, messages) {
  const { payload } = payloadSource(messageBytes);
  const nonce = Buffer.alloc(NONCE_BYTES);
  let counter = 0;
  let bytes = 0;
  let checksum = 0;
  for (let i = 0; i < messages; i++) {
    const sent = payload(i);
    const firstCounter = counter;
    /** @type {Uint8Array[]} */
    const frames = [];
    let wireLength = 0;
    for (let offset = 0; offset < sent.length; offset += MAX_STREAM_FRAGMENT_LENGTH) {
      const fragment = sent.subarray(offset, offset + MAX_STREAM_FRAGMENT_LENGTH);
      formatNonce(nonce, counter++);
      const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_BYTES });
      const frame = new Uint8Array(STREAM_FRAME_HEADER_LENGTH + fragment.length + TAG_BYTES);
      frame.set(cipher.update(fragment), STREAM_FRAME_HEADER_LENGTH);
      cipher.final();
      frame.set(cipher.getAuthTag(), STREAM_FRAME_HEADER_LENGTH + fragment.length);
      frames.push(frame);
      wireLength += frame.length;
    }
    // Like the channel's pollTransmit: frames that fit together in MAX_COALESCED_WRITE bytes are
    // joined into one write; larger ones go out as they are.
    /** @type {{ buffer: Uint8Array, start: number }[]} */
    const placed = [];
    if (frames.length > 1 && wireLength <= MAX_COALESCED_WRITE) {
      const wire = new Uint8Array(wireLength);
      let at = 0;
      for (const frame of frames) {
        wire.set(frame, at);
        placed.push({ buffer: wire, start: at });
        at += frame.length;
      }
    } else {
      for (const frame of frames) placed.push({ buffer: frame, start: 0 });
    }
    /** @type {Uint8Array[]} */
    const fragments = [];
    counter = firstCounter;
    frames.forEach((frame, index) => {
      const { buffer, start: frameStart } = /** @type {{ buffer: Uint8Array, start: number }} */ (
        placed[index]
      );
      const length = frame.length - STREAM_FRAME_HEADER_LENGTH - TAG_BYTES;
      const start = frameStart + STREAM_FRAME_HEADER_LENGTH;
      formatNonce(nonce, counter++);
      const decipher = createDecipheriv('chacha20-poly1305', key, nonce, {
        authTagLength: TAG_BYTES,
      });
      decipher.setAuthTag(buffer.subarray(start + length, start + length + TAG_BYTES));
      fragments.push(decipher.update(buffer.subarray(start, start + length)));
      decipher.final();
    });
    // Like the channel: one fragment is the message; several are copied into one.
    let received = fragments[0] ?? EMPTY;
    if (fragments.length > 1) {
      received = new Uint8Array(sent.length);
      let at = 0;
      for (const fragment of fragments) {
        received.set(fragment, at);
        at += fragment.length;
      }
    }
    checkMessage(label, i, received, sent);
    bytes += received.length;
    checksum += firstPlusLast(received);
  }
  return { messages, bytes, checksum };
}

/**
 * One raw seal and open.
 *
 * @param {import('node:crypto').KeyObject} key
 * @param {Buffer} nonce
 * @param {Uint8Array} sent
 * @returns {Uint8Array} what came out of the open
 */
function sealOpenRaw(key, nonce, sent) {
  const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_BYTES });
  const ciphertext = cipher.update(sent);
  cipher.final();
  const tag = cipher.getAuthTag();
  const decipher = createDecipheriv('chacha20-poly1305', key, nonce, {
    authTagLength: TAG_BYTES,
  });
  decipher.setAuthTag(tag);
  const received = decipher.update(ciphertext);
  decipher.final();
  return received;
}

/**
 * The plaintext parts the channel hands the cipher for a transport message of one record: a short
 * body copied behind its 3-byte record header into one buffer, a long one as a part of its own.
 *
 * @param {Uint8Array} body
 * @returns {Uint8Array[]}
 */
function recordParts(body) {
  const copied = body.length < CHANNEL_COPY_LIMIT;
  const record = new Uint8Array(STREAM_RECORD_HEADER_LENGTH + (copied ? body.length : 0));
  record[0] = TransportType.messageEnd;
  record[1] = body.length >>> 8;
  record[2] = body.length & 0xff;
  if (!copied) return [record, body];
  record.set(body, STREAM_RECORD_HEADER_LENGTH);
  return [record];
}

/**
 * Layer 1: the provider's Aead as the channel calls it (the record built as the channel builds it,
 * room for the frame header), with the raw reference's nonces; no CipherState, no channel.
 *
 * @param {string} label
 * @param {Uint8Array} key
 * @param {number} messageBytes
 * @param {number} messages
 * @returns {Tally}
 */
function runAead(label, key, messageBytes, messages) {
  const { payload } = payloadSource(messageBytes);
  const aead = nodeCryptoProvider.aead('ChaChaPoly', key);
  const nonce = Buffer.alloc(NONCE_BYTES);
  let bytes = 0;
  let checksum = 0;
  for (let i = 0; i < messages; i++) {
    const sent = payload(i);
    formatNonce(nonce, i);
    const frame = aead.seal(nonce, EMPTY, recordParts(sent), STREAM_FRAME_HEADER_LENGTH);
    const plaintext = aead.open(nonce, EMPTY, frame.subarray(STREAM_FRAME_HEADER_LENGTH));
    if (plaintext === undefined) throw new Error(`${label}: message ${i} failed to open`);
    const received = plaintext.subarray(STREAM_RECORD_HEADER_LENGTH);
    checkMessage(label, i, received, sent);
    bytes += received.length;
    checksum += firstPlusLast(received);
  }
  return { messages, bytes, checksum };
}

/**
 * Layer 2: Noise's CipherState on top of the Aead, as the channel calls it: its own counter nonce
 * (a BigInt, formatted into the nonce bytes per message). No rekeying, framing or events.
 *
 * @param {string} label
 * @param {{ send: CipherState, receive: CipherState }} states
 * @param {number} messageBytes
 * @param {number} messages
 * @returns {Tally}
 */
function runCipherState(label, states, messageBytes, messages) {
  const { payload } = payloadSource(messageBytes);
  const { send, receive } = states;
  let bytes = 0;
  let checksum = 0;
  for (let i = 0; i < messages; i++) {
    const sent = payload(i);
    const frame = send.seal(EMPTY, recordParts(sent), STREAM_FRAME_HEADER_LENGTH);
    const plaintext = receive.decryptWithAd(EMPTY, frame.subarray(STREAM_FRAME_HEADER_LENGTH));
    const received = plaintext.subarray(STREAM_RECORD_HEADER_LENGTH);
    checkMessage(label, i, received, sent);
    bytes += received.length;
    checksum += firstPlusLast(received);
  }
  return { messages, bytes, checksum };
}

/**
 * @param {ChannelContender} contender
 * @param {Tally} actual
 * @param {Tally} expected
 */
function verify(contender, actual, expected) {
  if (
    actual.messages !== expected.messages ||
    actual.bytes !== expected.bytes ||
    actual.checksum !== expected.checksum
  ) {
    throw new Error(
      `${contender.label} delivered WRONGLY: got ${JSON.stringify(actual)}, ` +
        `expected ${JSON.stringify(expected)}`,
    );
  }
}

/**
 * A signed number of microseconds, for the breakdown.
 *
 * @param {number} microseconds
 * @returns {string}
 */
function signed(microseconds) {
  return `${microseconds >= 0 ? '+' : ''}${microseconds.toFixed(1)}`;
}

/**
 * @param {CaseSpec} spec
 * @param {(line: string) => void} print
 */
async function runCase(spec, print) {
  const { messageBytes, messages } = spec;
  const framesPerMessage = Math.max(1, Math.ceil(messageBytes / MAX_STREAM_FRAGMENT_LENGTH));
  const wireBytesPerMessage =
    messageBytes +
    framesPerMessage * (STREAM_FRAME_HEADER_LENGTH + STREAM_RECORD_HEADER_LENGTH + TAG_BYTES);
  print(
    `case ${spec.name}: ${spec.title}; ${messages.toLocaleString('en-US')} messages per pass, ` +
      `${wireBytesPerMessage.toLocaleString('en-US')} B on the wire per message`,
  );

  // Made here, outside every clock: the channel pair (handshake included), the raw key, and the
  // cipher states of the layer rows.
  const pair = openChannelPair();
  const rawKey = createSecretKey(randomBytes(32));
  const layerKey = new Uint8Array(randomBytes(32));
  const states = {
    send: new CipherState(nodeCryptoProvider, 'ChaChaPoly', layerKey),
    receive: new CipherState(nodeCryptoProvider, 'ChaChaPoly', layerKey),
  };

  /** @type {(ChannelContender & { messageBytes: number })[]} */
  const contenders = [
    {
      key: 'lanchat',
      label: 'lanchat StreamChannel',
      messageBytes,
      run: () => runStreamChannel('lanchat StreamChannel', pair, messageBytes, messages),
    },
    {
      key: 'raw',
      label: 'raw node:crypto AEAD',
      messageBytes,
      run: () => runRaw('raw node:crypto AEAD', rawKey, messageBytes, messages),
    },
  ];
  if (spec.layers) {
    contenders.push(
      {
        key: 'cipherState',
        label: 'CipherState seal/decrypt (extra)',
        messageBytes,
        run: () => runCipherState('CipherState', states, messageBytes, messages),
      },
      {
        key: 'aead',
        label: 'provider Aead seal/open (extra)',
        messageBytes,
        run: () => runAead('provider Aead', layerKey, messageBytes, messages),
      },
    );
  }
  if (spec.setupProbe) {
    contenders.push({
      key: 'rawEmpty',
      label: 'raw AEAD, 0-byte messages (extra)',
      messageBytes: 0,
      run: () => runRaw('raw AEAD, 0-byte messages', rawKey, 0, messages),
    });
  }

  if (spec.splitProbe) {
    contenders.push({
      key: 'rawSplit',
      label: `raw AEAD, ${framesPerMessage} calls per message like the frames (extra)`,
      messageBytes,
      run: () => runRawSplit('raw AEAD, split', rawKey, messageBytes, messages),
    });
  }
  if (spec.copyProbe) {
    contenders.push({
      key: 'rawSplitCopying',
      label:
        framesPerMessage > 1
          ? "raw AEAD split + the channel's copies (extra)"
          : "raw AEAD + the channel's copy (extra)",
      messageBytes,
      run: () => runRawSplitCopying('raw AEAD, split, copying', rawKey, messageBytes, messages),
    });
  }

  /** @type {Map<string, Tally>} */
  const expected = new Map(
    contenders.map((contender) => [contender.key, expectedTally(contender.messageBytes, messages)]),
  );
  const milliseconds = await measureInterleaved(contenders, ROUNDS, (contender, tally) => {
    verify(contender, tally, expected.get(contender.key) ?? tally);
  });

  /** @param {string} key */
  const secondsOf = (key) => median(milliseconds.get(key) ?? []) / 1000;
  /** @param {string} key */
  const microsecondsPerMessage = (key) => (secondsOf(key) * 1e6) / messages;
  /** @param {string} key */
  const lanchatVs = (key) => secondsOf(key) / secondsOf('lanchat');
  /**
   * How much longer `slower` takes per message than `faster`: the median of the differences
   * within each round, where the two ran next to each other, so that a drift of the machine
   * between rounds cancels.
   *
   * @param {string} slower
   * @param {string} faster
   */
  const extraMicroseconds = (slower, faster) => {
    const a = milliseconds.get(slower) ?? [];
    const b = milliseconds.get(faster) ?? [];
    return (median(a.map((ms, round) => ms - (b[round] ?? NaN))) * 1000) / messages;
  };

  /** @type {Record<string, { messageBytes: number, messagesPerSecond: number, megabytesPerSecond: number, microsecondsPerMessage: number, medianMilliseconds: number, roundMilliseconds: number[] }>} */
  const results = {};
  const rows = [['', 'messages/s', 'MB/s', 'us/message', 'median ms', 'lanchat / this']];
  for (const contender of contenders) {
    const seconds = secondsOf(contender.key);
    const megabytesPerSecond = (messages * contender.messageBytes) / 1e6 / seconds;
    results[contender.key] = {
      messageBytes: contender.messageBytes,
      messagesPerSecond: roundSignificant(messages / seconds, 3),
      megabytesPerSecond: roundSignificant(megabytesPerSecond, 3),
      microsecondsPerMessage: roundSignificant(microsecondsPerMessage(contender.key), 3),
      medianMilliseconds: roundTo(seconds * 1000, 1),
      roundMilliseconds: (milliseconds.get(contender.key) ?? []).map((ms) => roundTo(ms, 1)),
    };
    rows.push([
      contender.label,
      formatRate(messages / seconds),
      contender.messageBytes === 0 ? '-' : megabytesPerSecond.toFixed(1),
      microsecondsPerMessage(contender.key).toFixed(1),
      (seconds * 1000).toFixed(1),
      `${lanchatVs(contender.key).toFixed(2)}x`,
    ]);
  }
  for (const line of formatTable(rows)) print(`  ${line}`);

  const ratio = lanchatVs('raw');
  /** @type {Record<string, { target: number, actual: number, met: boolean, judged: boolean }>} */
  const targets = {};
  if (spec.target !== undefined) {
    const met = ratio >= spec.target;
    targets['vsRaw'] = { target: spec.target, actual: roundTo(ratio, 2), met, judged: spec.judged };
    print(
      `  target${spec.judged ? '' : ' (reported only; judged on the frame case)'}: lanchat >= ` +
        `${spec.target}x raw node:crypto AEAD: ${ratio.toFixed(2)}x, ${met ? 'met' : 'NOT MET'}`,
    );
  } else {
    print(`  lanchat / raw node:crypto AEAD: ${ratio.toFixed(2)}x (no target at this size)`);
  }

  // Per-message cost of each layer: Aead over raw, CipherState over Aead, channel over CipherState.
  /** @type {Record<string, number> | undefined} */
  let layers;
  /** @type {string | undefined} */
  let explanation;
  if (spec.layers) {
    const raw = microsecondsPerMessage('raw');
    const aead = extraMicroseconds('aead', 'raw');
    const cipherState = extraMicroseconds('cipherState', 'aead');
    const channel = extraMicroseconds('lanchat', 'cipherState');
    const overhead = extraMicroseconds('lanchat', 'raw');
    layers = {
      rawMicrosecondsPerMessage: roundSignificant(raw, 3),
      lanchatOverMicrosecondsPerMessage: roundSignificant(overhead, 3),
      aeadOverRawMicroseconds: roundSignificant(aead, 3),
      cipherStateOverAeadMicroseconds: roundSignificant(cipherState, 3),
      channelOverCipherStateMicroseconds: roundSignificant(channel, 3),
    };
    const lanchatPart =
      `lanchat adds ${signed(overhead)} us per message (paired within rounds): ` +
      `provider Aead ${signed(aead)} ` +
      '(the record, 3-byte header + body, copied into one plaintext; one update() call, its ' +
      'output copied into the framed output; result wrapped), ' +
      `CipherState ${signed(cipherState)} (BigInt nonce check, formatting, increment), ` +
      `StreamChannel ${signed(channel)} (send queue, batch planned at pollTransmit, rekey check ` +
      'by BigInt modulo, frame header, frame decoder, record parsing, event object and queue)';
    if (spec.setupProbe) {
      const setup = microsecondsPerMessage('rawEmpty');
      const share = Math.min(1, setup / raw);
      layers['rawSetupMicrosecondsPerMessage'] = roundSignificant(setup, 3);
      layers['rawSetupShareOfRaw'] = roundTo(share, 2);
      explanation =
        `per-message costs bound it, not bytes: raw node:crypto takes ${setup.toFixed(1)} us per ` +
        `0-byte message (createCipheriv + final + getAuthTag + createDecipheriv + setAuthTag + ` +
        `final) against ${raw.toFixed(1)} us per ${messageBytes}-byte message: about ` +
        `${Math.round(share * 100)}% of raw's time is cipher setup, which lanchat pays too; ` +
        lanchatPart;
      print(`  bound: ${explanation}`);
    } else {
      explanation = `at ${raw.toFixed(1)} us per raw message, ${lanchatPart}`;
      print(`  overhead: ${explanation}`);
    }
  }

  if (spec.copyProbe) {
    const raw = microsecondsPerMessage('raw');
    const lanchat = microsecondsPerMessage('lanchat');
    const base = spec.splitProbe ? 'rawSplit' : 'raw';
    const cut = spec.splitProbe ? extraMicroseconds('rawSplit', 'raw') : 0;
    const copies = extraMicroseconds('rawSplitCopying', base);
    const rest = extraMicroseconds('lanchat', 'rawSplitCopying');
    // Frames are joined for the write only when they fit together in MAX_COALESCED_WRITE bytes.
    const coalesced =
      framesPerMessage > 1 &&
      spec.messageBytes +
        framesPerMessage * (STREAM_FRAME_HEADER_LENGTH + STREAM_RECORD_HEADER_LENGTH + TAG_BYTES) <=
        MAX_COALESCED_WRITE;
    const copyCount = framesPerMessage + (framesPerMessage > 1 ? 1 : 0) + (coalesced ? 1 : 0);
    const copyNames =
      framesPerMessage > 1
        ? `sealed frames, ${coalesced ? 'coalesced write, ' : ''}reassembled message`
        : 'sealed frame behind its header';
    layers = {
      rawMicrosecondsPerMessage: roundSignificant(raw, 3),
      ...(spec.splitProbe ? { splitOverRawMicroseconds: roundSignificant(cut, 3) } : {}),
      copiesMicroseconds: roundSignificant(copies, 3),
      lanchatOverCopiesMicroseconds: roundSignificant(rest, 3),
    };
    const cutPart = spec.splitProbe
      ? `lanchat is ${(microsecondsPerMessage('rawSplit') / lanchat).toFixed(2)}x raw cut into ` +
        `${framesPerMessage} AEAD calls like the frames. Per message: the cut itself costs raw ` +
        `node:crypto ${signed(cut)} us (one more cipher setup per side); `
      : `per message, over raw's ${raw.toFixed(1)} us: `;
    explanation =
      `${cutPart}the channel's ${copyCount} whole-buffer ${copyCount > 1 ? 'copies' : 'copy'} ` +
      `(${copyNames}) ${signed(copies)} us; the rest of lanchat ${signed(rest)} us`;
    print(`  overhead: ${explanation}`);
  }

  return {
    title: spec.title,
    messageBytes,
    framesPerMessage,
    wireBytesPerMessage,
    messages,
    results,
    ratios: { lanchatVsRaw: roundTo(ratio, 2) },
    targets,
    ...(layers === undefined ? {} : { layers }),
    ...(explanation === undefined ? {} : { explanation }),
  };
}

/**
 * Runs the three cases, prints the human-readable report line by line, and returns the result for
 * the final JSON line.
 *
 * @param {(line: string) => void} [print]
 */
export async function runChannel(print = printToStdout) {
  print(
    `channel: ${DEFAULT_NOISE_PROTOCOL} transport, seal + open per message (client.send, ` +
      'pollTransmit, server.receive, nextEvent), handshake outside the clock; ' +
      `${ROUNDS} measured rounds after 1 warm-up, interleaved, median reported; ` +
      'MB = 1e6 payload bytes',
  );
  print(
    'raw: per message createCipheriv + update + final + getAuthTag, then createDecipheriv + ' +
      'setAuthTag + update + final, 12-byte counter nonces, one KeyObject key; every contender ' +
      `checks length, ends and (every ${FULL_COMPARE_EVERY}th) all bytes of what came out; ` +
      `the channel rekeys every ${DEFAULT_REKEY_INTERVAL.toLocaleString('en-US')} frames as in use`,
  );
  /** @type {Record<string, Awaited<ReturnType<typeof runCase>>>} */
  const cases = {};
  for (const spec of CASES) {
    collectGarbage();
    cases[spec.name] = await runCase(spec, print);
  }
  const bound = cases['message1KiB']?.explanation;
  return {
    benchmark: 'channel',
    protocol: DEFAULT_NOISE_PROTOCOL,
    rounds: ROUNDS,
    warmupRounds: 1,
    targetJudgedOn: 'frame',
    cases,
    ...(bound === undefined ? {} : { bound1KiB: bound }),
  };
}
