import { nodeCryptoProvider } from '../src/crypto/node-crypto-provider.js';
import {
  ChatClient,
  type ChatClientOptions,
  type ClientEvent,
} from '../src/session/chat-client.js';
import {
  ChatServer,
  type ChatServerOptions,
  type ServerEvent,
} from '../src/session/chat-server.js';
import { SeededRandom } from '../src/testing/random.js';

/** One client of a {@link ChatNetwork}. */
export interface TestClient {
  readonly name: string;
  client: ChatClient;
  connection: number;
  /** Every event the client reported, in order. */
  readonly events: ClientEvent[];
  /** False once its connection has closed. */
  connected: boolean;
}

/** Options of a {@link ChatNetwork}. */
export interface ChatNetworkOptions {
  readonly server?: Partial<ChatServerOptions>;
  /** Accepted passwords by username, for an account server. */
  readonly accounts?: Readonly<Record<string, string>>;
  /** Cut every write into chunks of 1 to this many bytes (seeded). */
  readonly maxChunk?: number;
  readonly seed?: number;
}

const serverKeyPair = nodeCryptoProvider.generateX25519KeyPair();

/**
 * A server and any number of clients on one virtual clock, wired directly (no loss: TCP). Bytes
 * move until nothing is left to move; events are collected for the test to look at.
 */
export class ChatNetwork {
  now = 1_000_000;
  readonly server: ChatServer;
  readonly serverEvents: ServerEvent[] = [];
  readonly clients = new Map<string, TestClient>();
  readonly #byConnection = new Map<number, TestClient>();
  /** Where the output for connections driven by hand goes (see {@link ChatNetwork.attach}). */
  readonly #attached = new Map<number, (data: Uint8Array) => void>();
  readonly #accounts: Readonly<Record<string, string>> | undefined;
  readonly #random: SeededRandom;
  readonly #maxChunk: number | undefined;

  constructor(options: ChatNetworkOptions = {}) {
    this.#accounts = options.accounts;
    this.#maxChunk = options.maxChunk;
    this.#random = new SeededRandom(options.seed ?? 1);
    this.server = new ChatServer({
      staticKeyPair: serverKeyPair,
      accounts: options.accounts !== undefined,
      ...options.server,
    });
  }

  /** A client key pair for tests that drive a channel by hand. */
  readonly clientKeyPair = nodeCryptoProvider.generateX25519KeyPair();

  /** The server's public key. */
  get serverKey(): Uint8Array {
    return serverKeyPair.publicKey;
  }

  /**
   * Sees, and may replace, every buffer on its way: `up` from a client to the server, `down` from
   * the server to a client. Returns what travels on.
   */
  tap: ((direction: 'up' | 'down', name: string, data: Uint8Array) => Uint8Array) | undefined;

  /**
   * Connects a client and runs the handshake (not the login). With `transport: 'datagram'` in
   * the options, each buffer is one datagram (leave `maxChunk` unset).
   */
  connect(name: string, options: Partial<ChatClientOptions> = {}): TestClient {
    const address = `10.0.0.${this.clients.size + 2}`;
    const datagram = options.transport === 'datagram';
    const connection = this.server.accept(
      this.now,
      address,
      address,
      datagram ? 'datagram' : 'stream',
    );
    if (connection === undefined) throw new Error('the server refused the connection');
    const client = new ChatClient({
      now: this.now,
      ...(datagram ? { serverKey: this.serverKey } : {}),
      ...options,
    });
    const test: TestClient = { name, client, connection, events: [], connected: true };
    this.clients.set(name, test);
    this.#byConnection.set(connection, test);
    this.run();
    return test;
  }

  /** Connects and logs in with `nick` (and credentials); throws unless the login succeeds. */
  login(
    name: string,
    details: { nick?: string; user?: string; password?: string; rooms?: string[] } = {},
    options: Partial<ChatClientOptions> = {},
  ): TestClient {
    const test = this.connect(name, options);
    test.client.login({ nick: name, ...details }, this.now);
    this.run();
    if (test.client.state !== 'online') {
      throw new Error(`login of ${name} failed: ${JSON.stringify(test.events.at(-1))}`);
    }
    return test;
  }

  /** The client called `name`. */
  get(name: string): TestClient {
    const test = this.clients.get(name);
    if (test === undefined) throw new Error(`no client ${name}`);
    return test;
  }

  /** Events of client `name` of one type, in order. */
  eventsOf<Type extends ClientEvent['type']>(
    name: string,
    type: Type,
  ): Extract<ClientEvent, { type: Type }>[] {
    return this.get(name).events.filter(
      (event): event is Extract<ClientEvent, { type: Type }> => event.type === type,
    );
  }

  /** Server events of one type. */
  serverEventsOf<Type extends ServerEvent['type']>(
    type: Type,
  ): Extract<ServerEvent, { type: Type }>[] {
    return this.serverEvents.filter(
      (event): event is Extract<ServerEvent, { type: Type }> => event.type === type,
    );
  }

  /** Hands {@link run}'s output for a connection driven by hand (not a ChatClient) to `handler`. */
  attach(connection: number, handler: (data: Uint8Array) => void): void {
    this.#attached.set(connection, handler);
  }

  /** Sends raw bytes from a client's socket (garbage, a stranger's request). */
  inject(name: string, bytes: Uint8Array): void {
    this.server.receive(this.get(name).connection, bytes, this.now);
    this.run();
  }

  /** Moves bytes and handles events until nothing moves. */
  run(): void {
    for (let rounds = 0; rounds < 10_000; rounds++) {
      let moved = false;
      for (const test of this.clients.values()) {
        if (!test.connected) continue;
        for (
          let data = test.client.pollTransmit();
          data !== undefined;
          data = test.client.pollTransmit()
        ) {
          moved = true;
          const tapped = this.tap?.('up', test.name, data) ?? data;
          for (const chunk of this.#chunks(tapped))
            this.server.receive(test.connection, chunk, this.now);
        }
        moved = this.#clientEvents(test) || moved;
      }
      for (
        let out = this.server.pollTransmit();
        out !== undefined;
        out = this.server.pollTransmit()
      ) {
        moved = true;
        const test = this.#byConnection.get(out.connection);
        // Output for a connection with no client behind it (a test's stranger) goes nowhere,
        // unless the test attached a handler of its own.
        if (test === undefined) {
          this.#attached.get(out.connection)?.(out.data);
          continue;
        }
        const tapped = this.tap?.('down', test.name, out.data) ?? out.data;
        for (const chunk of this.#chunks(tapped)) test.client.receive(chunk, this.now);
      }
      moved = this.#serverEvents() || moved;
      if (!moved) return;
    }
    throw new Error('the network did not settle');
  }

  /** Moves the clock by `milliseconds`, firing every deadline on the way, and runs. */
  advance(milliseconds: number): void {
    const end = this.now + milliseconds;
    for (let steps = 0; steps < 100_000; steps++) {
      let next = this.server.pollTimeout();
      for (const test of this.clients.values()) {
        if (!test.connected) continue;
        const deadline = test.client.pollTimeout();
        if (deadline !== undefined && (next === undefined || deadline < next)) next = deadline;
      }
      if (next === undefined || next > end) break;
      this.now = Math.max(this.now, next);
      this.server.handleTimeout(this.now);
      for (const test of this.clients.values()) {
        if (test.connected) test.client.handleTimeout(this.now);
      }
      this.run();
    }
    this.now = end;
    this.run();
  }

  /** The client's socket breaks (a reset): both sides learn it, nothing more is exchanged. */
  drop(name: string): void {
    const test = this.get(name);
    test.connected = false;
    test.client.connectionLost();
    this.server.connectionClosed(test.connection, this.now);
    this.#clientEvents(test);
    this.run();
  }

  #chunks(data: Uint8Array): Uint8Array[] {
    if (this.#maxChunk === undefined) return [data];
    const chunks: Uint8Array[] = [];
    for (let offset = 0; offset < data.length;) {
      const length = this.#random.nextInt(1, this.#maxChunk);
      chunks.push(data.subarray(offset, offset + length));
      offset += length;
    }
    return chunks;
  }

  #clientEvents(test: TestClient): boolean {
    let any = false;
    for (
      let event = test.client.nextEvent();
      event !== undefined;
      event = test.client.nextEvent()
    ) {
      any = true;
      test.events.push(event);
      if (event.type === 'session-closed' && test.connected) {
        // The client's adapter writes what is left, then closes the socket.
        for (
          let data = test.client.pollTransmit();
          data !== undefined;
          data = test.client.pollTransmit()
        ) {
          this.server.receive(test.connection, data, this.now);
        }
        this.#disconnect(test);
      }
    }
    return any;
  }

  #serverEvents(): boolean {
    let any = false;
    for (
      let event = this.server.nextEvent();
      event !== undefined;
      event = this.server.nextEvent()
    ) {
      any = true;
      this.serverEvents.push(event);
      if (event.type === 'login-requested') {
        const expected = this.#accounts?.[event.user];
        this.server.completeLogin(
          event.connection,
          expected !== undefined && expected === event.password.reveal(),
          this.now,
        );
      } else if (event.type === 'connection-ending') {
        const test = this.#byConnection.get(event.connection);
        if (test?.connected === true) {
          for (
            let data = this.server.pollTransmitFor(event.connection);
            data !== undefined;
            data = this.server.pollTransmitFor(event.connection)
          ) {
            test.client.receive(data, this.now);
          }
          this.#disconnect(test);
        }
      }
    }
    return any;
  }

  #disconnect(test: TestClient): void {
    test.connected = false;
    test.client.receiveEnd(this.now);
    this.server.connectionClosed(test.connection, this.now);
    this.#clientEvents(test);
  }
}
