/**
 * The transfer keys of one chat session (docs/protocol.md, section 9.9): a sender makes a fresh
 * key for every offer it sends and seals its file data under it once the receiver agreed; a
 * receiver keeps the key of the offer it answers and opens the data with it. The server relays
 * the sealed chunks without opening them.
 *
 * @module
 */

import type { Aead, CryptoProvider } from '../crypto/crypto-provider.js';
import { MalformedSessionMessageError } from '../errors/session-errors.js';
import { type TransferData, fromHex, toHex } from '../transfer/transfer-messages.js';
import {
  type SealedTransferData,
  TRANSFER_CIPHER,
  TRANSFER_KEY_LENGTH,
  openTransferData,
  sealTransferData,
} from './transfer-data.js';

/**
 * Most keys a session keeps each way (sending, receiving): the oldest is dropped past it. A
 * client's own transfers are fewer (`TransferSet`'s `maxTransfers`, 64 by default); the bound
 * holds whatever a server sends.
 */
export const MAX_TRANSFER_KEYS = 256;

interface SendKey {
  readonly aead: Aead;
  /** The next nonce: one per sealed message, never used twice under this key. */
  counter: number;
  /** The receiver's accept said `sealed`: data goes sealed. */
  agreed: boolean;
}

/** The transfer keys of one session, by transfer id, both ways. */
export class TransferKeys {
  readonly #crypto: CryptoProvider;
  readonly #sending = new Map<string, SendKey>();
  readonly #receiving = new Map<string, Aead>();

  constructor(crypto: CryptoProvider) {
    this.#crypto = crypto;
  }

  /** Makes the key of an offer being sent (replacing an earlier offer's): hex, for the offer. */
  offerKey(transfer: string): string {
    const key = this.#crypto.randomBytes(TRANSFER_KEY_LENGTH);
    this.#forgetSending(transfer);
    bound(this.#sending, (old) => old.aead.wipe?.());
    this.#sending.set(transfer, {
      aead: this.#crypto.aead(TRANSFER_CIPHER, key),
      counter: 0,
      agreed: false,
    });
    const hex = toHex(key);
    key.fill(0);
    return hex;
  }

  /**
   * The receiver answered an offer of ours: whether it takes the data sealed. Returns whether
   * the data will go sealed (it said so, and this side holds the offer's key).
   */
  answered(transfer: string, sealed: boolean): boolean {
    const key = this.#sending.get(transfer);
    if (key === undefined) return false;
    key.agreed = sealed;
    return sealed;
  }

  /**
   * Seals file data of an outgoing transfer whose receiver agreed, or `undefined` for data that
   * goes as it is (no key, or a receiver that did not agree).
   */
  seal(
    message: TransferData,
  ): { readonly head: Uint8Array; readonly tail: Uint8Array } | undefined {
    const key = this.#sending.get(message.transfer);
    if (key === undefined || !key.agreed) return undefined;
    return sealTransferData(message, key.aead, key.counter++);
  }

  /** An offer came: keeps its key (or forgets an earlier offer's, when it has none). */
  offered(transfer: string, key: string | undefined): void {
    this.#forgetReceiving(transfer);
    if (key === undefined) return;
    bound(this.#receiving, (old) => old.wipe?.());
    const bytes = fromHex(key);
    this.#receiving.set(transfer, this.#crypto.aead(TRANSFER_CIPHER, bytes));
    bytes.fill(0);
  }

  /** Whether an incoming transfer has a key: its accept says `sealed`. */
  sealsIncoming(transfer: string): boolean {
    return this.#receiving.has(transfer);
  }

  /**
   * Opens a sealed file-data message (session kind 0x05, read with `readSealedTransferData`).
   *
   * @throws `MalformedSessionMessageError` for a transfer without a key; `TamperedError` when the
   * chunk fails authentication.
   */
  open(sealed: SealedTransferData): TransferData {
    const aead = this.#receiving.get(sealed.transfer);
    if (aead === undefined) {
      throw new MalformedSessionMessageError(
        `the server sent sealed file data of transfer ${sealed.transfer}, which has no key here`,
      );
    }
    return openTransferData(sealed, aead);
  }

  /** A transfer ended: its keys go, both ways. */
  forget(transfer: string): void {
    this.#forgetSending(transfer);
    this.#forgetReceiving(transfer);
  }

  /** The session ended: every key goes. */
  clear(): void {
    for (const key of this.#sending.values()) key.aead.wipe?.();
    for (const aead of this.#receiving.values()) aead.wipe?.();
    this.#sending.clear();
    this.#receiving.clear();
  }

  #forgetSending(transfer: string): void {
    this.#sending.get(transfer)?.aead.wipe?.();
    this.#sending.delete(transfer);
  }

  #forgetReceiving(transfer: string): void {
    this.#receiving.get(transfer)?.wipe?.();
    this.#receiving.delete(transfer);
  }
}

/** Makes room for one more entry, dropping the oldest past {@link MAX_TRANSFER_KEYS}. */
function bound<Value>(map: Map<string, Value>, drop: (value: Value) => void): void {
  if (map.size < MAX_TRANSFER_KEYS) return;
  const [oldest, value] = map.entries().next().value as [string, Value];
  drop(value);
  map.delete(oldest);
}
