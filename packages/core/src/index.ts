/**
 * The protocol core of lanchat, chat and file sharing on a local network.
 *
 * Everything here is sans-I/O: no sockets, files, timers or clocks. You hand it bytes and get
 * back frames, events and bytes to send; adapters such as `@lanchat/tcp` own the sockets.
 *
 * What it holds:
 *
 * - **Stream frames** ({@link StreamFrameDecoder}, {@link encodeStreamFrame}): a 4-byte length
 *   prefix and a payload, decoded incrementally from chunks of any size, with a maximum length
 *   enforced from the header alone.
 * - **Datagram frames** ({@link encodeDatagramFrame}, {@link decodeDatagramFrame}): one frame per
 *   datagram, with its own size limit.
 * - **The preamble** ({@link encodePreamble}, {@link PreambleDecoder}): magic bytes and protocol
 *   version, so that a stranger or an incompatible peer gets a clear error.
 * - **Integrity**: {@link md5} as a corruption checksum only, {@link hmacSha256} for keyed tags,
 *   one-shot and streaming, verified in constant time.
 * - **Noise** ({@link HandshakeState}, {@link CipherState}): the Noise Protocol Framework on a
 *   pluggable {@link CryptoProvider} (node:crypto by default), with the patterns NN, NK, KK, XN,
 *   XX, IK and their psk variants, proven against the cacophony test vectors.
 * - **The secure channel**: {@link StreamChannel} (TCP, WebSocket: sealed frames with implicit
 *   nonces) and {@link DatagramChannel} (UDP: explicit counters and a replay window), with the
 *   handshake carrying version and capabilities, rekeying, and timeouts as data.
 * - **The chat session**: {@link ChatServer} (every connection, user and room of a server) and
 *   {@link ChatClient} (one session), over the stream channel.
 * - **File transfer**: {@link FileSender} and {@link FileReceiver}, one transfer each, with credit
 *   flow control, resumption, a SHA-256 check and, over a lossy link, acknowledgements and
 *   retransmission; {@link safeFileName} and {@link checkOffer}, the receiver's safety rules.
 * - **Serverless mode** ({@link PeerMesh}): one peer of a full mesh of peers, with gossip,
 *   duplicate links cut to one, acknowledged messages sent again after a lost link, and unique
 *   nicknames.
 * - **Errors**: one hierarchy under {@link LanchatError}, with stable names and `isInstance()`.
 * - **Testing** (`@lanchat/core/testing`): a pair of endpoints over a fake link with a virtual
 *   clock and seeded latency, loss, duplication and reordering, and a network of many peers.
 *
 * @example Frame messages, cut the stream anywhere, and get them back
 * ```ts
 * import { StreamFrameDecoder, encodeStreamFrames } from '@lanchat/core';
 *
 * const text = new TextEncoder();
 * const wire = encodeStreamFrames([text.encode('hello'), text.encode('world')]);
 *
 * const decoder = new StreamFrameDecoder();
 * for (const chunk of [wire.subarray(0, 3), wire.subarray(3)]) {
 *   decoder.receive(chunk);
 *   for (let frame = decoder.nextFrame(); frame !== undefined; frame = decoder.nextFrame()) {
 *     console.log(new TextDecoder().decode(frame)); // "hello", then "world"
 *   }
 * }
 * decoder.finish();
 * ```
 *
 * @example Detect tampering with a keyed tag
 * ```ts
 * import { TamperedError, hmacSha256, verifyHmacSha256 } from '@lanchat/core';
 * import { randomBytes } from 'node:crypto';
 *
 * const key = randomBytes(32);
 * const message = new TextEncoder().encode('meet at 10');
 * const tag = hmacSha256(key, message);
 *
 * message[8] = 0x32; // "meet at 20"
 * try {
 *   verifyHmacSha256(key, message, tag);
 * } catch (error) {
 *   if (TamperedError.isInstance(error)) console.log('tampered!');
 * }
 * ```
 *
 * @packageDocumentation
 */

export {
  InvalidArgumentError,
  InvalidStateError,
  LanchatError,
  type LanchatErrorClass,
  type LanchatErrorOptions,
  LocalProtocolError,
  RemoteProtocolError,
} from './errors/lanchat-error.js';
export {
  IncomingDatagramTooLargeError,
  IncomingFrameTooLargeError,
  MalformedDatagramError,
  type MalformedDatagramReason,
  NotLanchatError,
  OutgoingDatagramTooLargeError,
  OutgoingFrameTooLargeError,
  type ProtocolVersion,
  type StrangerGuess,
  TruncatedFrameError,
  UnsupportedVersionError,
} from './errors/frame-errors.js';
export { ChecksumMismatchError, TamperedError } from './errors/integrity-errors.js';
export {
  HandshakeTimeoutError,
  LowOrderPublicKeyError,
  type MalformedHandshakeReason,
  MalformedHandshakeError,
  NoiseMessageTooLargeError,
  NonceExhaustedError,
} from './errors/noise-errors.js';
export {
  BufferFullError,
  IncomingMessageTooLargeError,
  MalformedTransportMessageError,
  OutgoingMessageTooLargeError,
} from './errors/channel-errors.js';

export {
  DATAGRAM_LENGTH_CEILING,
  DEFAULT_MAX_DATAGRAM_LENGTH,
  DEFAULT_MAX_STREAM_FRAME_LENGTH,
  STREAM_FRAME_HEADER_LENGTH,
  STREAM_FRAME_LENGTH_CEILING,
  checkLimit,
} from './frame/limits.js';
export {
  StreamFrameDecoder,
  type StreamFrameDecoderState,
  type StreamFrameOptions,
  encodeStreamFrame,
  encodeStreamFrameHeader,
  encodeStreamFrames,
} from './frame/stream-frame.js';
export {
  DATAGRAM_HEADER_LENGTH,
  DATAGRAM_MAGIC,
  type DatagramFrame,
  type DatagramFrameOptions,
  decodeDatagramFrame,
  encodeDatagramFrame,
} from './frame/datagram-frame.js';
export {
  PREAMBLE_LENGTH,
  PREAMBLE_MAGIC,
  PROTOCOL_VERSION,
  PreambleDecoder,
  type PreambleAccepted,
  encodePreamble,
  guessStranger,
} from './frame/preamble.js';

export { StreamingDigest, constantTimeEqual } from './integrity/digest.js';
export { MD5_LENGTH, Md5Digest, createMd5, md5, verifyMd5 } from './integrity/md5.js';
export { SHA256_LENGTH, Sha256Digest, createSha256 } from './integrity/sha256.js';
export {
  HMAC_SHA256_LENGTH,
  HmacSha256Digest,
  createHmacSha256,
  hmacSha256,
  verifyHmacSha256,
} from './integrity/hmac.js';

export {
  AEAD_KEY_LENGTH,
  AEAD_NONCE_LENGTH,
  AEAD_TAG_LENGTH,
  type Aead,
  type CipherName,
  type CryptoProvider,
  HASH_BLOCK_LENGTH,
  HASH_LENGTH,
  type HashName,
  X25519_KEY_LENGTH,
  type X25519KeyPair,
} from './crypto/crypto-provider.js';
export { nodeCryptoProvider } from './crypto/node-crypto-provider.js';

export { CipherState, MAX_NONCE } from './noise/cipher-state.js';
export { SymmetricState } from './noise/symmetric-state.js';
export {
  DEFAULT_NOISE_PROTOCOL,
  type HandshakeOptions,
  type HandshakeResult,
  HandshakeState,
  NOISE_MAX_MESSAGE_LENGTH,
  type NoiseProtocol,
  PRE_SHARED_KEY_LENGTH,
  parseNoiseProtocolName,
} from './noise/handshake-state.js';
export {
  HANDSHAKE_PATTERNS,
  type HandshakePattern,
  type PatternName,
  type PreMessageToken,
  type Token,
} from './noise/patterns.js';

export type {
  ChannelClosedEvent,
  ChannelEvent,
  HandshakeCompletedEvent,
  MessageReceivedEvent,
} from './channel/channel-events.js';
export {
  DEFAULT_HANDSHAKE_TIMEOUT,
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_MAX_MESSAGE_LENGTH,
  DEFAULT_REKEY_INTERVAL,
  LANCHAT_PROLOGUE,
  type SecureChannelOptions,
  TransportType,
} from './channel/channel-options.js';
export { type HandshakeAnnouncement, MAX_CAPABILITIES } from './channel/handshake-payload.js';
export {
  type ChannelState,
  MAX_COALESCED_WRITE,
  CLEAR_TAIL_CAPABILITY,
  MAX_CLEAR_TAIL_HEAD,
  MAX_STREAM_FRAGMENT_LENGTH,
  MAX_STREAM_PLAINTEXT_LENGTH,
  STREAM_RECORD_HEADER_LENGTH,
  StreamChannel,
  type StreamChannelOptions,
} from './channel/stream-channel.js';
export {
  DATAGRAM_TRANSPORT_OVERHEAD,
  DEFAULT_HANDSHAKE_RETRANSMIT,
  DatagramChannel,
  type DatagramChannelOptions,
  type DatagramChannelState,
  type DatagramStatistics,
  DatagramType,
  MAX_EPOCH_SKIP,
  MAX_HANDSHAKE_RETRANSMIT,
} from './channel/datagram-channel.js';
export * from './channel/handshake-cookies.js';
export * from './channel/reliable-messages.js';
export * from './channel/datagram-session-channel.js';
export type { SessionChannel, SessionChannelState } from './channel/session-channel.js';
export {
  DEFAULT_REPLAY_WINDOW_SIZE,
  MAX_REPLAY_WINDOW_SIZE,
  MIN_REPLAY_WINDOW_SIZE,
  type ReplayVerdict,
  ReplayWindow,
  type ReplayWindowOptions,
} from './channel/replay-window.js';

export {
  InvalidNameError,
  InvalidTextError,
  MalformedSessionMessageError,
  type NameKind,
} from './errors/session-errors.js';
export {
  DEFAULT_MAX_TEXT_BYTES,
  DEFAULT_ROOM,
  MAX_NAME_LENGTH,
  MAX_PASSWORD_BYTES,
  checkName,
  checkNickname,
  checkPassword,
  checkRoomName,
  checkText,
  nameKey,
} from './session/names.js';
export { Secret } from './session/secret.js';
export { keyFingerprint } from './session/fingerprint.js';
export { LoginLimiter, type LoginLimiterOptions } from './session/login-limiter.js';
export {
  CHAT_CAPABILITY,
  COMPACT_SAY_CAPABILITY,
  SEALED_FILES_CAPABILITY,
  DEFAULT_DEAD_TIMEOUT,
  DEFAULT_KEEPALIVE_INTERVAL,
  DEFAULT_UNANSWERED_TIMEOUT,
  LOGIN_REQUIRED_CAPABILITY,
  ROOM_BATCH_CAPABILITY,
  ROOM_BATCH_TEXT_BUDGET,
} from './session/session-options.js';
export * from './session/session-messages.js';
export * from './session/chat-server.js';
export type { ServerTransport } from './session/server-transport.js';
export * from './session/chat-client.js';
export * from './transfer/transfer-messages.js';
export {
  DEFAULT_OFFER_TIMEOUT,
  DEFAULT_STALL_TIMEOUT,
  INITIAL_RETRANSMIT_TIMEOUT,
  MAX_RETRANSMIT_TIMEOUT,
  MIN_RETRANSMIT_TIMEOUT,
} from './transfer/transfer-timing.js';
export * from './transfer/file-sender.js';
export * from './transfer/file-receiver.js';
export * from './transfer/file-names.js';
export * from './transfer/transfer-set.js';
export {
  SEALED_TRANSFER_DATA_HEADER_LENGTH,
  SEALED_TRANSFER_DATA_KIND,
  type SealedTransferData,
  TRANSFER_CIPHER,
  TRANSFER_DATA_HEADER_LENGTH,
  TRANSFER_DATA_KIND,
  TRANSFER_KEY_LENGTH,
  openTransferData,
  readSealedTransferData,
  sealTransferData,
} from './session/transfer-data.js';
export { DEFAULT_MAX_TRANSFERS_PER_USER } from './session/transfer-relay.js';
export * from './discovery/discovery-messages.js';
export * from './discovery/discovery-machines.js';
export { MalformedDiscoveryMessageError } from './errors/discovery-errors.js';
export * from './mesh/peer-mesh.js';
export {
  PEER_CAPABILITY,
  type PeerAck,
  type PeerAddress,
  type PeerBye,
  type PeerByeReason,
  type PeerControlMessage,
  type PeerHello,
  type PeerJoin,
  type PeerLeave,
  type PeerList,
  type PeerListening,
  type PeerMessage,
  type PeerNick,
  type PeerPing,
  type PeerPong,
  type PeerPrivate,
  type PeerSay,
  type PeerTransferOffer,
  decodePeerMessage,
  encodePeerMessage,
} from './mesh/peer-messages.js';
