/**
 * Stream frames: how lanchat cuts a byte stream (TCP, WebSocket) into messages.
 *
 * A stream frame is a 4-byte unsigned big-endian payload length followed by that many payload
 * bytes (docs/protocol.md has the byte diagram). The length counts the payload only; an empty
 * payload is a valid frame.
 *
 * @module
 */

import { InvalidArgumentError, InvalidStateError } from '../errors/lanchat-error.js';
import { bytesToOverwrite } from '../util/bytes.js';
import {
  IncomingFrameTooLargeError,
  OutgoingFrameTooLargeError,
  TruncatedFrameError,
} from '../errors/frame-errors.js';
import {
  DEFAULT_MAX_STREAM_FRAME_LENGTH,
  STREAM_FRAME_HEADER_LENGTH,
  STREAM_FRAME_LENGTH_CEILING,
  checkLimit,
} from './limits.js';

const EMPTY = new Uint8Array(0);

/** Options of the stream frame encoder functions and decoder. */
export interface StreamFrameOptions {
  /**
   * Largest payload, in bytes, that a frame may carry. Default
   * {@link DEFAULT_MAX_STREAM_FRAME_LENGTH} (65535); at most 2^32 - 1. Both ends of a connection
   * should agree on it.
   */
  readonly maxFrameLength?: number;
}

function maxFrameLengthOf(options: StreamFrameOptions | undefined): number {
  return checkLimit(
    'maxFrameLength',
    options?.maxFrameLength,
    DEFAULT_MAX_STREAM_FRAME_LENGTH,
    0,
    STREAM_FRAME_LENGTH_CEILING,
  );
}

function writeHeader(target: Uint8Array, offset: number, length: number): void {
  target[offset] = length >>> 24;
  target[offset + 1] = (length >>> 16) & 0xff;
  target[offset + 2] = (length >>> 8) & 0xff;
  target[offset + 3] = length & 0xff;
}

/**
 * Encodes the 4-byte header of a frame whose payload is `length` bytes long, for writers that
 * send header and payload as separate buffers (a vectored write) instead of copying the payload.
 *
 * @throws {@link OutgoingFrameTooLargeError} if `length` is over `maxFrameLength`.
 * @throws {@link InvalidArgumentError} if `length` is not a non-negative integer or
 * `maxFrameLength` is out of range.
 */
export function encodeStreamFrameHeader(length: number, options?: StreamFrameOptions): Uint8Array {
  const maxFrameLength = maxFrameLengthOf(options);
  if (!Number.isInteger(length) || length < 0) {
    throw new InvalidArgumentError(`a frame length is a non-negative integer, got ${length}`);
  }
  if (length > maxFrameLength) throw new OutgoingFrameTooLargeError(length, maxFrameLength);
  const header = new Uint8Array(STREAM_FRAME_HEADER_LENGTH);
  writeHeader(header, 0, length);
  return header;
}

/**
 * Encodes one frame: a new buffer holding the header and a copy of `payload`.
 *
 * @throws {@link OutgoingFrameTooLargeError} if the payload is over `maxFrameLength`; nothing is
 * encoded.
 * @throws {@link InvalidArgumentError} if `maxFrameLength` is out of range.
 */
export function encodeStreamFrame(payload: Uint8Array, options?: StreamFrameOptions): Uint8Array {
  return encodeStreamFrames([payload], options);
}

/**
 * Encodes several frames into one new buffer, in order: for writers that coalesce what was queued
 * into a single write.
 *
 * @throws {@link OutgoingFrameTooLargeError} if any payload is over `maxFrameLength`; nothing is
 * encoded.
 * @throws {@link InvalidArgumentError} if `maxFrameLength` is out of range.
 */
export function encodeStreamFrames(
  payloads: readonly Uint8Array[],
  options?: StreamFrameOptions,
): Uint8Array {
  const maxFrameLength = maxFrameLengthOf(options);
  let total = 0;
  for (const payload of payloads) {
    if (payload.length > maxFrameLength) {
      throw new OutgoingFrameTooLargeError(payload.length, maxFrameLength);
    }
    total += STREAM_FRAME_HEADER_LENGTH + payload.length;
  }
  const output = new Uint8Array(total);
  let offset = 0;
  for (const payload of payloads) {
    writeHeader(output, offset, payload.length);
    output.set(payload, offset + STREAM_FRAME_HEADER_LENGTH);
    offset += STREAM_FRAME_HEADER_LENGTH + payload.length;
  }
  return output;
}

/** The life of a {@link StreamFrameDecoder}. */
export type StreamFrameDecoderState = 'open' | 'finished' | 'failed';

/**
 * An incremental, sans-I/O decoder of stream frames.
 *
 * Feed it chunks exactly as they arrive, of any size (one byte at a time, or many frames at once),
 * with {@link StreamFrameDecoder.receive}, and take the frames out with
 * {@link StreamFrameDecoder.nextFrame} until it returns `undefined`:
 *
 * ```ts
 * const decoder = new StreamFrameDecoder();
 * socket.on('data', (chunk) => {
 *   decoder.receive(chunk);
 *   for (let frame = decoder.nextFrame(); frame !== undefined; frame = decoder.nextFrame()) {
 *     handle(frame);
 *   }
 * });
 * socket.on('end', () => decoder.finish());
 * ```
 *
 * Memory: a frame that lies wholly inside one chunk is returned as a view of that chunk, without
 * copying (copy it if you keep it long and the chunk came from a pool). A frame that spans chunks
 * is assembled in a buffer of exactly its length, allocated once its header has arrived and been
 * checked against `maxFrameLength`. The decoder never holds more than that one unfinished frame
 * (at most `maxFrameLength` + 4 bytes, reported by {@link StreamFrameDecoder.bufferedBytes}) plus
 * a reference to the chunk it is reading.
 *
 * Errors are sticky: after a {@link RemoteProtocolError} every call throws that same error.
 */
export class StreamFrameDecoder {
  /** The largest payload this decoder accepts, in bytes. */
  readonly maxFrameLength: number;

  #chunk: Uint8Array = EMPTY;
  #offset = 0;
  /** Header bytes of the next frame, when its header is split across chunks. */
  readonly #header = new Uint8Array(STREAM_FRAME_HEADER_LENGTH);
  #headerFilled = 0;
  /** The frame being assembled across chunks, allocated at its exact length. */
  #partial: Uint8Array | undefined = undefined;
  #partialFilled = 0;
  #state: StreamFrameDecoderState = 'open';
  #error: Error | undefined = undefined;
  /** The limit of the next frame only, when {@link allowNextFrame} set one. */
  #nextLimit: number | undefined = undefined;
  /** The limit the last header was checked against, for the error. */
  #lastLimit = 0;
  /** Where to assemble the next frame, when {@link allowNextFrame} gave a buffer. */
  #nextInto: Uint8Array | undefined = undefined;
  /** Where to assemble the frame whose header was just read, if it spans chunks. */
  #frameInto: Uint8Array | undefined = undefined;

  /**
   * @throws {@link InvalidArgumentError} if `maxFrameLength` is not an integer from 0 to 2^32 - 1.
   */
  constructor(options?: StreamFrameOptions) {
    this.maxFrameLength = maxFrameLengthOf(options);
  }

  /**
   * Sets the largest payload of the next frame only, in place of `maxFrameLength` (higher or
   * lower): for a protocol whose previous frame announced the length of the next one, such as the
   * clear tail of a stream channel's message. The frame after it has `maxFrameLength` again.
   *
   * `into`, if given, is where to assemble that frame should it span chunks: a buffer of exactly
   * `length` bytes, which {@link nextFrame} then returns (a frame inside one chunk is still a view
   * of the chunk). A caller that wants the frame in a buffer of its own, after bytes of its own,
   * then copies nothing.
   *
   * @throws {@link InvalidArgumentError} if `length` is not an integer from 0 to 2^32 - 1, or
   * `into` is not `length` bytes long.
   */
  allowNextFrame(length: number, into?: Uint8Array): void {
    if (!Number.isInteger(length) || length < 0 || length > STREAM_FRAME_LENGTH_CEILING) {
      throw new InvalidArgumentError(
        `a frame length is an integer from 0 to ${STREAM_FRAME_LENGTH_CEILING}, got ${length}`,
      );
    }
    if (into !== undefined && into.length !== length) {
      throw new InvalidArgumentError(
        `the buffer for the next frame has ${into.length} bytes, not ${length}`,
      );
    }
    this.#nextLimit = length;
    this.#nextInto = into;
  }

  /** `open` while it accepts input, `finished` after {@link finish}, `failed` after an error. */
  get state(): StreamFrameDecoderState {
    return this.#state;
  }

  /**
   * Bytes of memory held for the unfinished frame: its header bytes and, once the header is
   * complete, its whole allocated payload buffer. Never more than `maxFrameLength` + 4 (or the
   * limit {@link allowNextFrame} set, + 4).
   */
  get bufferedBytes(): number {
    return this.#partial === undefined
      ? this.#headerFilled
      : STREAM_FRAME_HEADER_LENGTH + this.#partial.length;
  }

  /**
   * Hands the decoder the next chunk of the stream. An empty chunk is allowed.
   *
   * @throws {@link InvalidStateError} if frames of the previous chunk are still waiting (call
   * {@link nextFrame} until it returns `undefined` first), or after {@link finish}; the decoder is
   * unchanged.
   * @throws the decoder's {@link RemoteProtocolError} if it has failed.
   */
  receive(chunk: Uint8Array): void {
    if (this.#error !== undefined) throw this.#error;
    if (this.#state === 'finished') {
      throw new InvalidStateError('receive() was called after finish()');
    }
    if (this.#offset < this.#chunk.length) {
      throw new InvalidStateError(
        'receive() was called while frames of the previous chunk were waiting: ' +
          'call nextFrame() until it returns undefined first',
      );
    }
    this.#chunk = chunk;
    this.#offset = 0;
  }

  /**
   * Returns the next complete frame's payload, or `undefined` when the chunks received so far hold
   * no further complete frame.
   *
   * @throws {@link IncomingFrameTooLargeError} as soon as a header announces a length over
   * `maxFrameLength`, before any of that frame is buffered. The decoder is then failed.
   * @throws the decoder's {@link RemoteProtocolError} if it has failed.
   */
  nextFrame(): Uint8Array | undefined {
    if (this.#error !== undefined) throw this.#error;
    const chunk = this.#chunk;
    let offset = this.#offset;
    const available = chunk.length - offset;

    // The common case first: a whole frame, header and payload, inside the current chunk.
    if (this.#partial === undefined && this.#headerFilled === 0) {
      if (available >= STREAM_FRAME_HEADER_LENGTH) {
        const length =
          ((chunk[offset]! << 24) |
            (chunk[offset + 1]! << 16) |
            (chunk[offset + 2]! << 8) |
            chunk[offset + 3]!) >>>
          0;
        if (length > this.#takeLimit()) throw this.#tooLarge(length);
        offset += STREAM_FRAME_HEADER_LENGTH;
        if (chunk.length - offset >= length) {
          this.#offset = offset + length;
          this.#frameInto = undefined;
          return chunk.subarray(offset, offset + length);
        }
        this.#startPartial(length, offset);
        return undefined;
      }
      if (available === 0) return undefined;
    }
    return this.#continueSlowly();
  }

  /**
   * Declares the end of the stream.
   *
   * @throws {@link TruncatedFrameError} if the stream ended inside a frame; the decoder is then
   * failed.
   * @throws {@link InvalidStateError} if frames of the last chunk are still waiting; the decoder is
   * unchanged.
   * @throws the decoder's {@link RemoteProtocolError} if it has failed.
   */
  finish(): void {
    if (this.#error !== undefined) throw this.#error;
    if (this.#state === 'finished') return;
    if (this.#offset < this.#chunk.length) {
      throw new InvalidStateError(
        'finish() was called while frames of the last chunk were waiting: ' +
          'call nextFrame() until it returns undefined first',
      );
    }
    if (this.#partial !== undefined) {
      const received = STREAM_FRAME_HEADER_LENGTH + this.#partialFilled;
      const expected = STREAM_FRAME_HEADER_LENGTH + this.#partial.length;
      throw this.#setError(new TruncatedFrameError(received, expected));
    }
    if (this.#headerFilled > 0) {
      throw this.#setError(new TruncatedFrameError(this.#headerFilled, STREAM_FRAME_HEADER_LENGTH));
    }
    this.#state = 'finished';
  }

  /** Header or payload split across chunks: the careful, copying path. */
  #continueSlowly(): Uint8Array | undefined {
    const chunk = this.#chunk;
    let offset = this.#offset;

    if (this.#partial === undefined) {
      // Gather the header, a byte at a time if need be.
      while (this.#headerFilled < STREAM_FRAME_HEADER_LENGTH && offset < chunk.length) {
        this.#header[this.#headerFilled++] = chunk[offset++]!;
      }
      this.#offset = offset;
      if (this.#headerFilled < STREAM_FRAME_HEADER_LENGTH) return undefined;
      const header = this.#header;
      const length =
        ((header[0]! << 24) | (header[1]! << 16) | (header[2]! << 8) | header[3]!) >>> 0;
      this.#headerFilled = 0;
      if (length > this.#takeLimit()) throw this.#tooLarge(length);
      if (chunk.length - offset >= length) {
        this.#offset = offset + length;
        this.#frameInto = undefined;
        return chunk.subarray(offset, offset + length);
      }
      this.#startPartial(length, offset);
      return undefined;
    }

    const partial = this.#partial;
    const wanted = partial.length - this.#partialFilled;
    const taken = Math.min(wanted, chunk.length - offset);
    partial.set(chunk.subarray(offset, offset + taken), this.#partialFilled);
    this.#partialFilled += taken;
    this.#offset = offset + taken;
    if (taken < wanted) return undefined;
    this.#partial = undefined;
    this.#partialFilled = 0;
    return partial;
  }

  /** Allocates the buffer of a frame that continues past the current chunk and fills what it can. */
  #startPartial(length: number, offset: number): void {
    const chunk = this.#chunk;
    // Filled from the stream before it is handed out; dropped unread if the stream ends first.
    const into = this.#frameInto;
    this.#frameInto = undefined;
    // The caller's buffer fits only a frame of the length it announced (a shorter one is its own).
    const partial = into !== undefined && into.length === length ? into : bytesToOverwrite(length);
    partial.set(chunk.subarray(offset), 0);
    this.#partial = partial;
    this.#partialFilled = chunk.length - offset;
    this.#offset = chunk.length;
  }

  /** The limit of the frame whose header was just read (the next frame's, once). */
  #takeLimit(): number {
    const limit = this.#nextLimit ?? this.maxFrameLength;
    this.#lastLimit = limit;
    this.#nextLimit = undefined;
    this.#frameInto = this.#nextInto;
    this.#nextInto = undefined;
    return limit;
  }

  #tooLarge(length: number): Error {
    return this.#setError(new IncomingFrameTooLargeError(length, this.#lastLimit));
  }

  #setError(error: Error): Error {
    this.#error = error;
    this.#state = 'failed';
    // Drop every reference to input so that a failed decoder pins no memory.
    this.#chunk = EMPTY;
    this.#offset = 0;
    this.#partial = undefined;
    this.#partialFilled = 0;
    this.#headerFilled = 0;
    this.#nextInto = undefined;
    this.#frameInto = undefined;
    return error;
  }
}
