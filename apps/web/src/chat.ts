/**
 * The page's chat client: core's ChatClient (the browser build: noble crypto) over the browser's
 * WebSocket to `/lanchat` on the page's own server, with reconnection, keepalive timers and files
 * (core's TransferSet; files read with `File.slice`, received ones kept in memory until saved).
 */

import {
  type ClientEvent,
  ChatClient,
  type LoginDetails,
  type TransferSetEvent,
  TransferSet,
  createMd5,
  keyFingerprint,
  nodeCryptoProvider,
  toHex,
} from '@lanchat/core';

/**
 * Largest file the page takes or sends: it holds a received file in memory until it is saved,
 * and a sent one while it hashes it.
 */
export const MAX_PAGE_FILE = 512 * 1024 * 1024;

/** What the page hears from its client. */
export type ChatEvent =
  | Exclude<
      ClientEvent,
      {
        type:
          | 'transfer-offered'
          | 'transfer-message'
          | 'transfer-offer-failed'
          | 'transfer-interrupted'
          | 'transfer-data-refused';
      }
    >
  | Exclude<TransferSetEvent, { type: 'read-requested' | 'data-received' | 'transfer-verified' }>
  | {
      readonly type: 'file-ready';
      readonly transfer: string;
      readonly name: string;
      readonly url: string;
    }
  | {
      readonly type: 'connection';
      readonly state: 'connecting' | 'online' | 'lost' | 'closed';
      readonly detail?: string;
    }
  | {
      readonly type: 'key';
      readonly fingerprint: string;
      readonly status: 'new' | 'known' | 'changed';
      readonly pinned?: string;
    };

interface Incoming {
  readonly name: string;
  readonly chunks: Uint8Array[];
  received: number;
}

/** The WebSocket address of the chat on the server that served this page. */
export function chatUrl(location: Location): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/lanchat`;
}

/** One chat session of the page, kept alive across dropped connections. */
export class BrowserChat {
  readonly #url: string;
  readonly #onEvent: (event: ChatEvent) => void;
  readonly #transfers = new TransferSet({
    randomBytes: (length) => nodeCryptoProvider.randomBytes(length),
  });
  readonly #sources = new Map<string, File>();
  readonly #incoming = new Map<string, Incoming>();
  #details: LoginDetails;
  #session: ChatClient | undefined;
  #socket: WebSocket | undefined;
  #timer: number | undefined;
  #reconnectTimer: number | undefined;
  #attempt = 0;
  #everOnline = false;
  #stopped = false;
  #rooms: readonly string[] = [];
  /** The server requires an account, and the page waits for one. */
  #awaitingLogin = false;

  constructor(url: string, details: LoginDetails, onEvent: (event: ChatEvent) => void) {
    this.#url = url;
    this.#details = details;
    this.#onEvent = onEvent;
    this.#open();
  }

  get session(): ChatClient | undefined {
    return this.#session;
  }

  get online(): boolean {
    return this.#session?.state === 'online';
  }

  /** Whether the session waits for credentials (the server requires an account). */
  get awaitingLogin(): boolean {
    return this.#awaitingLogin;
  }

  /** Logs in with these details now (after `loginRequired`), or at the next connection. */
  login(details: LoginDetails): void {
    this.#details = details;
    const session = this.#session;
    if (session?.state === 'identified') {
      this.#awaitingLogin = false;
      session.login(details, Date.now());
      this.#flush();
    }
  }

  /** Runs a session call (say, join...) and sends what it gave. */
  act<Result>(action: (session: ChatClient, now: number) => Result): Result {
    const session = this.#session;
    if (session === undefined || session.state !== 'online') throw new Error('not connected');
    const result = action(session, Date.now());
    this.#flush();
    return result;
  }

  /** Hashes and offers a file to `to`. */
  async sendFile(to: string, file: File): Promise<string> {
    if (file.size > MAX_PAGE_FILE) {
      throw new Error(`a web page sends files of at most ${MAX_PAGE_FILE / 1024 / 1024} MiB`);
    }
    const bytes = new Uint8Array(await file.arrayBuffer());
    const sha256 = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    const md5 = createMd5().update(bytes).digest();
    const transfer = this.#transfers.offer(
      to,
      { name: file.name, size: file.size, sha256, md5 },
      Date.now(),
    );
    this.#sources.set(transfer, file);
    this.#flush();
    return transfer;
  }

  /** Takes an offered file (into memory; `file-ready` gives its URL once checked). */
  acceptFile(transfer: string): void {
    const offer = this.#transfers.offerOf(transfer);
    if (offer.size > MAX_PAGE_FILE) {
      this.#transfers.reject(
        transfer,
        Date.now(),
        'too-large',
        'the file is too large for a web page',
      );
    } else {
      this.#incoming.set(transfer, { name: offer.name, chunks: [], received: 0 });
      this.#transfers.accept(transfer, Date.now());
    }
    this.#flush();
  }

  rejectFile(transfer: string): void {
    this.#transfers.reject(transfer, Date.now(), 'rejected', 'the receiver declined the file');
    this.#flush();
  }

  /** Says goodbye and stops. */
  close(): void {
    this.#stopped = true;
    window.clearTimeout(this.#timer);
    window.clearTimeout(this.#reconnectTimer);
    const session = this.#session;
    if (session !== undefined && this.#socket?.readyState === WebSocket.OPEN) {
      session.bye(Date.now());
      this.#send(session);
    }
    this.#socket?.close(1000);
    this.#onEvent({ type: 'connection', state: 'closed' });
  }

  #open(): void {
    this.#onEvent({ type: 'connection', state: 'connecting' });
    // File data stays sealed by each hop: in JavaScript, AES-256-GCM (what sealing end to end
    // uses) is several times slower than the channel's ChaCha20-Poly1305.
    const session = new ChatClient({ now: Date.now(), sealFiles: false });
    const socket = new WebSocket(this.#url);
    socket.binaryType = 'arraybuffer';
    this.#session = session;
    this.#socket = socket;
    socket.addEventListener('open', () => {
      this.#flush();
    });
    socket.addEventListener('message', (message: MessageEvent<ArrayBuffer>) => {
      if (this.#session !== session) return;
      session.receive(new Uint8Array(message.data), Date.now());
      this.#flush();
    });
    socket.addEventListener('close', () => {
      if (this.#session !== session) return;
      session.connectionLost();
      this.#flush();
      this.#lost(session);
    });
  }

  #lost(session: ChatClient): void {
    this.#session = undefined;
    this.#socket = undefined;
    window.clearTimeout(this.#timer);
    this.#transfers.linkDown(Date.now());
    this.#pumpFiles();
    if (this.#stopped) return;
    if (!this.#everOnline) {
      this.#onEvent({
        type: 'connection',
        state: 'closed',
        detail: session.error?.message ?? 'could not connect',
      });
      return;
    }
    this.#attempt++;
    const delay = Math.min(15_000, 250 * 2 ** Math.min(this.#attempt - 1, 10));
    this.#onEvent({
      type: 'connection',
      state: 'lost',
      detail: `reconnecting in ${Math.round(delay / 100) / 10} s`,
    });
    this.#reconnectTimer = window.setTimeout(() => {
      this.#open();
    }, delay);
  }

  #flush(): void {
    const session = this.#session;
    if (session === undefined) return;
    for (let event = session.nextEvent(); event !== undefined; event = session.nextEvent()) {
      if (this.#transfers.handleEvent(event, Date.now())) continue;
      this.#handle(session, event);
      this.#onEvent(event as Exclude<ClientEvent, { type: `transfer-${string}` }>);
    }
    this.#pumpFiles();
    if (session.state === 'online') {
      for (
        let output = this.#transfers.poll(Date.now(), session.transferCapacity);
        output !== undefined;
        output = this.#transfers.poll(Date.now(), session.transferCapacity)
      ) {
        if (output.to !== undefined) session.offerFile(output.to, output.message, Date.now());
        else session.sendTransfer(output.message, Date.now());
      }
      this.#pumpFiles();
    }
    this.#send(session);
    this.#arm(session);
  }

  #send(session: ChatClient): void {
    const socket = this.#socket;
    if (socket?.readyState !== WebSocket.OPEN) return;
    for (let data = session.pollTransmit(); data !== undefined; data = session.pollTransmit()) {
      socket.send(data);
    }
  }

  #arm(session: ChatClient): void {
    window.clearTimeout(this.#timer);
    const deadline = Math.min(
      session.pollTimeout() ?? Infinity,
      this.#transfers.pollTimeout() ?? Infinity,
    );
    if (deadline === Infinity) return;
    this.#timer = window.setTimeout(
      () => {
        if (this.#session !== session) return;
        session.handleTimeout(Date.now());
        this.#transfers.handleTimeout(Date.now());
        this.#flush();
      },
      Math.max(0, deadline - Date.now()),
    );
  }

  #handle(session: ChatClient, event: ClientEvent): void {
    switch (event.type) {
      case 'server-identified':
        this.#checkKey(session, event.serverKey, event.loginRequired);
        return;
      case 'login-succeeded':
        this.#details = { ...this.#details, nick: event.nick };
        if (this.#everOnline) this.#transfers.linkUp(Date.now());
        this.#everOnline = true;
        this.#attempt = 0;
        this.#onEvent({ type: 'connection', state: 'online' });
        return;
      case 'room-joined':
      case 'room-left':
        this.#rooms = session.rooms;
        return;
      case 'nick-changed':
        if (event.self) this.#details = { ...this.#details, nick: event.nick };
        return;
      default:
        return;
    }
  }

  /** Trust on first use, as the terminal client does: a key that changed is refused. */
  #checkKey(session: ChatClient, key: Uint8Array, loginRequired: boolean): void {
    const fingerprint = keyFingerprint(key);
    const storageKey = `lanchat-key:${this.#url}`;
    const pinned = localStorage.getItem(storageKey);
    if (pinned !== null && pinned !== toHex(key)) {
      this.#onEvent({
        type: 'key',
        fingerprint,
        status: 'changed',
        pinned: keyFingerprint(
          Uint8Array.from(pinned.match(/../g) ?? [], (byte) => parseInt(byte, 16)),
        ),
      });
      this.#stopped = true;
      this.#socket?.close(1000);
      return;
    }
    if (pinned === null) localStorage.setItem(storageKey, toHex(key));
    // Known before the event, so that the page can ask for the account when it hears of the key.
    this.#awaitingLogin =
      loginRequired && (this.#details.user === undefined || this.#details.password === undefined);
    this.#onEvent({ type: 'key', fingerprint, status: pinned === null ? 'new' : 'known' });
    if (this.#awaitingLogin) return;
    const details: LoginDetails = this.#everOnline
      ? { ...this.#details, rooms: this.#rooms.filter((room) => room !== session.lobby) }
      : this.#details;
    session.login(details, Date.now());
  }

  /** The transfers' file work: reads for sending, in-memory writes, the checked file handed out. */
  #pumpFiles(): void {
    for (
      let event = this.#transfers.nextEvent();
      event !== undefined;
      event = this.#transfers.nextEvent()
    ) {
      switch (event.type) {
        case 'read-requested':
          this.#read(event.transfer, event.offset, event.length);
          break;
        case 'data-received': {
          const incoming = this.#incoming.get(event.transfer);
          if (incoming === undefined) break;
          incoming.chunks.push(event.bytes.slice());
          incoming.received = event.offset + event.bytes.length;
          this.#transfers.written(event.transfer, incoming.received, Date.now());
          break;
        }
        case 'transfer-verified': {
          const incoming = this.#incoming.get(event.transfer);
          if (incoming === undefined) break;
          const url = URL.createObjectURL(new Blob(incoming.chunks as BlobPart[]));
          this.#incoming.delete(event.transfer);
          this.#transfers.saved(event.transfer, Date.now());
          this.#onEvent({ type: 'file-ready', transfer: event.transfer, name: incoming.name, url });
          break;
        }
        case 'transfer-restarted': {
          const incoming = this.#incoming.get(event.transfer);
          if (incoming !== undefined) {
            incoming.chunks.length = 0;
            incoming.received = 0;
          }
          this.#onEvent(event);
          break;
        }
        case 'transfer-completed':
        case 'transfer-failed':
          this.#sources.delete(event.transfer);
          this.#incoming.delete(event.transfer);
          this.#onEvent(event);
          break;
        default:
          this.#onEvent(event);
      }
    }
  }

  #read(transfer: string, offset: number, length: number): void {
    const file = this.#sources.get(transfer);
    if (file === undefined) return;
    file
      .slice(offset, Math.min(file.size, offset + length))
      .arrayBuffer()
      .then(
        (buffer) => {
          this.#transfers.supply(transfer, offset, new Uint8Array(buffer), Date.now());
          this.#flush();
        },
        (error: unknown) => {
          this.#transfers.readFailed(transfer, String(error), Date.now());
          this.#flush();
        },
      );
  }
}
