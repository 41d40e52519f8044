/**
 * `lanchat peer`: serverless mode as an app. It starts a peer (`@lanchat/tcp`'s `startPeer`),
 * dials the peers it is given, those LAN discovery finds and those it is told of, runs commands,
 * keeps contacts, and turns what happens into output events that the terminal UI or NDJSON shows.
 *
 * @module
 */

import {
  type DiscoveredServer,
  InvalidStateError,
  LanchatError,
  MAX_SERVER_NAME_BYTES,
  type X25519KeyPair,
  checkRoomName,
  fromHex,
  keyFingerprint,
  nameKey,
} from '@lanchat/core';
import { type PeerNode, type PeerNodeEvent, startPeer } from '@lanchat/tcp';
import { type ServerAnnouncer, announceServer, discoverServers } from '@lanchat/udp';
import pc from 'picocolors';
import { parseServerAddress } from './address.js';
import { ExitCode, type OutputEvent } from './client-app.js';
import { runLine } from './commands.js';
import type { ContactStatus, Contacts } from './contacts.js';
import { PEER_COMMAND_HELP, type PeerCommand, parsePeerCommand } from './peer-commands.js';
import { clock, formatEvent, nickColour, notice, sanitizeForTerminal } from './terminal-ui.js';
import { TransferDesk, isFileCommand, isFileEvent } from './transfer-desk.js';

/**
 * The name a peer announces on the LAN: its nickname, cut at a character's end to the
 * {@link MAX_SERVER_NAME_BYTES} bytes an announcement's name may take (a nickname of 32
 * characters can need 128). Only people read it: the key identifies the peer.
 */
export function lanName(nick: string): string {
  let name = '';
  let bytes = 0;
  for (const character of nick) {
    bytes += Buffer.byteLength(character);
    if (bytes > MAX_SERVER_NAME_BYTES) break;
    name += character;
  }
  return name;
}

/** A peer as `/peers` lists it. */
export interface PeerListEntry {
  readonly nick: string;
  readonly fingerprint: string;
  readonly status: 'connected' | 'connecting' | 'away';
  readonly host?: string;
  readonly port?: number;
  readonly rooms: readonly string[];
}

/** What `lanchat peer` shows or prints: one NDJSON line each in --json mode (docs/cli.md). */
export type PeerOutputEvent =
  | Exclude<
      OutputEvent,
      {
        event:
          | 'connecting'
          | 'server-key'
          | 'connected'
          | 'reconnecting'
          | 'reconnected'
          | 'delivered'
          | 'user-connected'
          | 'user-disconnected'
          | 'presence-changed'
          | 'users'
          | 'chat-request'
          | 'chat-started'
          | 'chat-declined'
          | 'chat-ended'
          | 'server-shutdown';
      }
    >
  | {
      readonly event: 'started';
      readonly nick: string;
      readonly fingerprint: string;
      /** Where it accepts peers, if it does. */
      readonly host?: string;
      readonly port?: number;
      /** The identity was made now (first start). */
      readonly newIdentity: boolean;
    }
  | { readonly event: 'listening'; readonly host: string; readonly port: number }
  /** The peer is announced by LAN discovery, which listens on this UDP port. */
  | { readonly event: 'discovery'; readonly port: number }
  | {
      readonly event: 'peer-connected';
      readonly nick: string;
      readonly fingerprint: string;
      readonly host: string;
      readonly port?: number;
      readonly incoming: boolean;
      /** `new`: never seen; `known`: a contact; `impostor`: a contact's name with another key. */
      readonly contact: 'new' | 'known' | 'impostor';
      /** A known contact that had another name. */
      readonly previousName?: string;
      /** For `impostor`: the contact's own fingerprint. */
      readonly contactFingerprint?: string;
    }
  | {
      readonly event: 'peer-disconnected';
      readonly nick: string;
      readonly reason: string;
      readonly message: string;
      /** Whether it is dialled again. */
      readonly redial: boolean;
    }
  | {
      readonly event: 'redialing';
      readonly nick: string;
      readonly attempt: number;
      readonly delay: number;
    }
  | { readonly event: 'peer-given-up'; readonly nick: string }
  /** A connected peer started to listen (its `/host`): it can be dialled there from now on. */
  | {
      readonly event: 'peer-listening';
      readonly nick: string;
      readonly host: string;
      readonly port: number;
    }
  | {
      readonly event: 'peer-discovered';
      readonly nick: string;
      readonly host: string;
      readonly port: number;
      /** Who told of it: a peer's nickname, or `discovery`. */
      readonly via: string;
    }
  | {
      readonly event: 'connect-failed';
      readonly host: string;
      readonly port: number;
      readonly message: string;
    }
  | {
      readonly event: 'peer-key-rejected';
      readonly host: string;
      readonly port: number;
      readonly expectedFingerprint: string;
      readonly presentedFingerprint: string;
    }
  | {
      readonly event: 'nick-conflict';
      readonly nick: string;
      /** The fingerprint of the other peer that had the nickname. */
      readonly other: string;
      /** True when this peer kept it; the other takes another and says so. */
      readonly kept: boolean;
    }
  | { readonly event: 'peers'; readonly peers: readonly PeerListEntry[] }
  | {
      readonly event: 'contacts';
      readonly contacts: readonly {
        readonly name: string;
        readonly host?: string;
        readonly port?: number;
        readonly fingerprint: string;
        readonly lastSeen: string;
      }[];
    };

/** Options of {@link PeerApp}. */
export interface PeerAppOptions {
  readonly nick: string;
  readonly keyPair: X25519KeyPair;
  /** The identity file was made now. */
  readonly newIdentity: boolean;
  /** Where to accept peers; `false`: nowhere (until `/host PORT`). */
  readonly listen: false | { readonly host?: string; readonly port: number };
  /** Peers to dial at start (`HOST[:PORT]`, or a contact's name). */
  readonly connect: readonly string[];
  readonly rooms: readonly string[];
  readonly contacts: Contacts;
  /** LAN discovery: announce this peer and look for others. `false`: neither. */
  readonly discovery: false | { readonly port: number };
  readonly output: (event: PeerOutputEvent) => void;
  /** Where `/accept` puts a file when no folder is given. */
  readonly downloadDir: string;
  /** Accept every file offered, into this folder (scripts). */
  readonly acceptFiles?: string;
  /** The default port of `/connect HOST`. */
  readonly defaultPort: number;
}

/**
 * One peer as an app: {@link PeerApp.start}, then {@link PeerApp.handleLine} for each input line;
 * {@link PeerApp.finished} resolves with the exit code.
 */
export class PeerApp {
  readonly #options: PeerAppOptions;
  #node: PeerNode | undefined;
  #announcer: ServerAnnouncer | undefined;
  /** An announcer is being made (its sockets open). */
  #announcing = false;
  readonly #stopDiscovery = new AbortController();
  #room: string;
  #exitCode: number = ExitCode.ok;
  #closeReason = 'bye';
  #quitRequested = false;
  #waitForTransfers = false;
  readonly #desk: TransferDesk;
  readonly #finished: Promise<number>;
  #resolveFinished: (code: number) => void = () => undefined;

  constructor(options: PeerAppOptions) {
    this.#options = options;
    this.#room = 'lobby';
    this.#desk = new TransferDesk({
      output: options.output,
      endpoint: () => this.#peer(),
      downloadDir: options.downloadDir,
      ...(options.acceptFiles === undefined ? {} : { acceptFiles: options.acceptFiles }),
      sendFailed: () => undefined,
      ended: () => undefined,
      changed: () => {
        this.#quitWhenIdle();
      },
    });
    this.#finished = new Promise((resolve) => {
      this.#resolveFinished = resolve;
    });
  }

  /** Resolves with the exit code once the peer has stopped. */
  get finished(): Promise<number> {
    return this.#finished;
  }

  /** The nickname now. */
  get nick(): string {
    return this.#node?.nick ?? this.#options.nick;
  }

  /** The room plain text goes to. */
  get currentRoom(): string {
    return this.#room;
  }

  /** Starts the peer. Rejects (exit code 1) when its port cannot be bound. */
  async start(): Promise<void> {
    const options = this.#options;
    const node = await startPeer({
      nick: options.nick,
      staticKeyPair: options.keyPair,
      listen: options.listen,
      rooms: options.rooms,
      onEvent: (event) => {
        this.#onEvent(event);
      },
    });
    this.#node = node;
    void node.stopped.then(() => {
      this.#stopDiscovery.abort();
      const announcer = this.#announcer;
      void (announcer === undefined ? Promise.resolve() : announcer.close()).then(() => {
        options.output({ event: 'closed', reason: this.#closeReason, exitCode: this.#exitCode });
        this.#resolveFinished(this.#exitCode);
      });
    });
    const address = node.address();
    options.output({
      event: 'started',
      nick: node.nick,
      fingerprint: keyFingerprint(options.keyPair.publicKey),
      ...(address === undefined ? {} : { host: address.host, port: address.port }),
      newIdentity: options.newIdentity,
    });
    const contacts = options.contacts.list();
    if (contacts.length > 0) this.#listContacts();
    for (const target of options.connect) this.#connect(target, undefined);
    if (options.discovery !== false) void this.#discover(options.discovery.port, address?.port);
  }

  /** Runs one input line: a command or text. Errors become `error` events. */
  handleLine(line: string): void {
    runLine(
      line,
      parsePeerCommand,
      (command) => {
        this.#run(command);
      },
      (code, message) => {
        this.#error(code, message);
      },
    );
  }

  /** Leaves the mesh and stops (`now`: without waiting for transfers). */
  quit(now = false): void {
    this.#quitRequested = true;
    if (now) this.#waitForTransfers = false;
    this.#quitWhenIdle();
  }

  /** The input ended: leave once every transfer has ended. */
  endOfInput(): void {
    this.#waitForTransfers = true;
    this.quit();
  }

  #quitWhenIdle(): void {
    if (!this.#quitRequested) return;
    if (this.#waitForTransfers && this.#desk.going()) return;
    void this.#node?.close();
  }

  #peer(): PeerNode {
    if (this.#node === undefined) throw new InvalidStateError('the peer is not started');
    return this.#node;
  }

  #error(code: string, message: string): void {
    this.#options.output({ event: 'error', code, message });
  }

  #run(command: PeerCommand): void {
    const node = this.#peer();
    const output = this.#options.output;
    if (isFileCommand(command)) {
      this.#desk.run(command);
      return;
    }
    switch (command.kind) {
      case 'nothing':
        return;
      case 'help':
        output({ event: 'help', commands: PEER_COMMAND_HELP });
        return;
      case 'quit':
        this.quit();
        return;
      case 'host': {
        const port = Number(command.port);
        if (!/^\d+$/.test(command.port) || port > 65_535) {
          this.#error('bad-command', 'a port is a number from 0 to 65535');
          return;
        }
        node.listen({ port }).then(
          () => {
            const discovery = this.#options.discovery;
            if (discovery !== false) void this.#announce(discovery.port, node.address()!.port);
          },
          (error: unknown) => {
            this.#error(
              'listen-failed',
              `cannot accept peers on port ${port}: ${(error as Error).message}`,
            );
          },
        );
        return;
      }
      case 'connect': {
        const wasLeft = this.#hasLeft();
        this.#connect(command.target, command.port);
        // Back in the mesh: on the LAN again.
        const discovery = this.#options.discovery;
        const address = node.address();
        if (wasLeft && !this.#hasLeft() && discovery !== false && address !== undefined) {
          void this.#announce(discovery.port, address.port);
        }
        return;
      }
      case 'disconnect':
        node.disconnect(command.peer);
        // Out of the mesh: no longer announced, so that no newcomer dials it by discovery.
        if (command.peer === undefined) this.#stopAnnouncing();
        return;
      case 'peers':
        output({
          event: 'peers',
          peers: node.peers().map((peer) => ({
            nick: peer.nick,
            fingerprint: keyFingerprint(fromHex(peer.key)),
            status: peer.status,
            ...(peer.host === undefined || peer.port === undefined
              ? {}
              : { host: peer.host, port: peer.port }),
            rooms: peer.rooms,
          })),
        });
        return;
      case 'rooms': {
        const counts = new Map<string, { name: string; members: number }>();
        for (const room of node.rooms) counts.set(nameKey(room), { name: room, members: 1 });
        for (const peer of node.peers()) {
          if (peer.status !== 'connected') continue;
          for (const room of peer.rooms) {
            const entry = counts.get(nameKey(room)) ?? { name: room, members: 0 };
            entry.members++;
            counts.set(nameKey(room), entry);
          }
        }
        output({ event: 'rooms', rooms: [...counts.values()] });
        return;
      }
      case 'contacts':
        this.#listContacts();
        return;
      case 'forget': {
        const { forgotten, saved } = this.#options.contacts.forget(command.name);
        if (!forgotten) {
          this.#error('no-such-contact', `no contact is called ${command.name}`);
          return;
        }
        saved.catch((error: unknown) => {
          this.#error('contacts-not-saved', (error as Error).message);
        });
        this.#listContacts();
        return;
      }
      case 'nick':
        node.setNick(command.nick);
        return;
      case 'join': {
        const room = node.join(command.room);
        this.#room = room;
        output({ event: 'joined', room, members: node.members(room).map((peer) => peer.nick) });
        return;
      }
      case 'leave': {
        const room = command.room ?? this.#room;
        node.leave(room);
        output({ event: 'left', room: checkRoomName(room) });
        if (nameKey(checkRoomName(room)) === nameKey(this.#room)) this.#room = 'lobby';
        return;
      }
      case 'room': {
        const key = nameKey(checkRoomName(command.room));
        const room = node.rooms.find((name) => nameKey(name) === key);
        if (room === undefined) {
          this.#error('not-in-room', `you are not in the room ${command.room}; /join it first`);
          return;
        }
        this.#room = room;
        output({ event: 'room-changed', room });
        return;
      }
      case 'msg': {
        const id = node.sendPrivate(command.nick, command.text);
        output({ event: 'sent', id, to: command.nick, text: command.text });
        return;
      }
      case 'say': {
        const id = node.say(this.#room, command.text);
        output({ event: 'sent', id, room: this.#room, text: command.text });
        return;
      }
    }
  }

  /** `/connect HOST PORT`, `/connect HOST[:PORT]`, `/connect NAME`. */
  #connect(target: string, port: string | undefined): void {
    const node = this.#peer();
    const contact = port === undefined ? this.#options.contacts.byName(target) : undefined;
    if (contact !== undefined) {
      if (contact.host === undefined || contact.port === undefined) {
        this.#error('no-address', `${contact.name} accepts no peers; it has to dial you`);
        return;
      }
      node.connect(contact.host, contact.port, { key: fromHex(contact.key) });
      return;
    }
    let address;
    try {
      address = parseServerAddress(
        port === undefined ? target : `${target.includes(':') ? `[${target}]` : target}:${port}`,
        this.#options.defaultPort,
      );
    } catch (error) {
      if (port === undefined && !/[.:]/.test(target)) {
        this.#error(
          'no-such-contact',
          `no contact is called ${target}; give HOST PORT or HOST:PORT (/contacts lists contacts)`,
        );
        return;
      }
      throw error;
    }
    // A contact at that address pins the key the peer there must prove.
    const pinned = this.#options.contacts.byAddress(address.host, address.port);
    node.connect(
      address.host,
      address.port,
      pinned === undefined ? {} : { key: fromHex(pinned.key) },
    );
  }

  #listContacts(): void {
    this.#options.output({
      event: 'contacts',
      contacts: this.#options.contacts.list().map((contact) => ({
        name: contact.name,
        ...(contact.host === undefined ? {} : { host: contact.host, port: contact.port! }),
        fingerprint: keyFingerprint(fromHex(contact.key)),
        lastSeen: contact.lastSeen,
      })),
    });
  }

  /** Announces this peer on the LAN, and dials the peers that answer a search. */
  async #discover(discoveryPort: number, listenPort: number | undefined): Promise<void> {
    if (listenPort !== undefined) await this.#announce(discoveryPort, listenPort);
    const own = this.#options.keyPair.publicKey;
    const found = (server: DiscoveredServer): void => {
      const node = this.#node;
      const host = server.addresses[0];
      const port = server.ports.tcp;
      if (!server.peer || node === undefined || host === undefined || port === undefined) return;
      if (Buffer.compare(server.publicKey, own) === 0) return;
      this.#options.output({
        event: 'peer-discovered',
        nick: server.name,
        host,
        port,
        via: 'discovery',
      });
      try {
        node.connect(host, port, { key: server.publicKey });
      } catch (error) {
        if (!LanchatError.isInstance(error)) throw error;
      }
    };
    try {
      await discoverServers({
        port: discoveryPort,
        onServer: found,
        signal: this.#stopDiscovery.signal,
        onError: () => undefined,
      });
    } catch (error) {
      this.#error('discovery-failed', `LAN discovery failed: ${(error as Error).message}`);
    }
  }

  /** Records a peer seen in the contacts (saved in the background; a failure is reported). */
  #remember(peer: Parameters<Contacts['seen']>[0]): ContactStatus {
    const { status, saved } = this.#options.contacts.seen(peer);
    saved.catch((error: unknown) => {
      this.#error('contacts-not-saved', (error as Error).message);
    });
    return status;
  }

  /** Whether the peer has left the mesh (`/disconnect` of everyone). */
  #hasLeft(): boolean {
    return this.#node?.left === true;
  }

  #renameOnTheLan(nick: string): void {
    try {
      this.#announcer?.rename(lanName(nick));
    } catch (error) {
      // Not expected (a nickname has no control characters); the old name stays announced.
      this.#error(
        'discovery-failed',
        `cannot announce ${nick} on the LAN: ${(error as Error).message}`,
      );
    }
  }

  #stopAnnouncing(): void {
    const announcer = this.#announcer;
    this.#announcer = undefined;
    void announcer?.close();
  }

  async #announce(discoveryPort: number, listenPort: number): Promise<void> {
    if (this.#announcer !== undefined || this.#announcing || this.#stopDiscovery.signal.aborted) {
      return;
    }
    if (this.#hasLeft()) return;
    this.#announcing = true;
    try {
      const name = lanName(this.nick);
      this.#announcer = await announceServer({
        name,
        publicKey: this.#options.keyPair.publicKey,
        ports: { tcp: listenPort },
        peer: true,
        port: discoveryPort,
        signal: this.#stopDiscovery.signal,
        onError: () => undefined,
      });
      // Left while the sockets opened: not announced after all.
      if (this.#hasLeft()) {
        this.#stopAnnouncing();
        return;
      }
      // A nickname taken while the sockets opened.
      if (lanName(this.nick) !== name) this.#renameOnTheLan(this.nick);
      this.#options.output({ event: 'discovery', port: this.#announcer.port });
    } catch (error) {
      this.#error(
        'discovery-failed',
        `cannot announce this peer on the LAN: ${(error as Error).message}`,
      );
    } finally {
      this.#announcing = false;
    }
  }

  #onEvent(event: PeerNodeEvent): void {
    if (isFileEvent(event)) {
      this.#desk.show(event);
      return;
    }
    const output = this.#options.output;
    switch (event.type) {
      case 'listening':
        // At start, `started` says where; this tells of a later `/host`.
        if (this.#node === undefined) return;
        output({ event: 'listening', host: event.host, port: event.port });
        return;
      case 'peer-connected': {
        const status = this.#remember({
          name: event.nick,
          key: event.key,
          ...(event.port === undefined ? {} : { host: event.host, port: event.port }),
        });
        output({
          event: 'peer-connected',
          nick: event.nick,
          fingerprint: keyFingerprint(fromHex(event.key)),
          host: event.host,
          ...(event.port === undefined ? {} : { port: event.port }),
          incoming: event.incoming,
          contact: status.status,
          ...(status.status === 'known' && status.previousName !== undefined
            ? { previousName: status.previousName }
            : {}),
          ...(status.status === 'impostor'
            ? { contactFingerprint: status.contactFingerprint }
            : {}),
        });
        return;
      }
      case 'peer-disconnected':
        output({
          event: 'peer-disconnected',
          nick: event.nick,
          reason: event.reason,
          message: event.message,
          redial: event.redial,
        });
        return;
      case 'redial-scheduled':
        output({
          event: 'redialing',
          nick: event.nick,
          attempt: event.attempt,
          delay: event.delay,
        });
        return;
      case 'peer-given-up':
        output({ event: 'peer-given-up', nick: event.nick });
        return;
      case 'peer-listening': {
        // Its contact gets the address (a name taken by another key is left alone, as on connect).
        this.#remember({ name: event.nick, key: event.key, host: event.host, port: event.port });
        output({ event: 'peer-listening', nick: event.nick, host: event.host, port: event.port });
        return;
      }
      case 'peer-discovered':
        output({
          event: 'peer-discovered',
          nick: event.nick,
          host: event.host,
          port: event.port,
          via: event.via,
        });
        return;
      case 'link-failed':
        if (!event.incoming && event.port !== undefined) {
          output({
            event: 'connect-failed',
            host: event.host,
            port: event.port,
            message: event.message,
          });
        }
        return;
      case 'peer-key-rejected':
        output({
          event: 'peer-key-rejected',
          host: event.host,
          port: event.port ?? 0,
          expectedFingerprint: keyFingerprint(fromHex(event.expected)),
          presentedFingerprint: keyFingerprint(fromHex(event.actual)),
        });
        return;
      case 'message-received':
        output({
          event: 'message',
          id: event.id,
          ts: event.ts,
          room: event.room,
          from: event.nick,
          text: event.text,
        });
        return;
      case 'private-message-received':
        output({
          event: 'private-message',
          id: event.id,
          ts: event.ts,
          from: event.nick,
          text: event.text,
          chat: false,
        });
        return;
      case 'message-failed':
        this.#error(
          'message-failed',
          `a message to ${event.nick} was not delivered: ${event.message}`,
        );
        return;
      case 'nick-changed':
        // The LAN announces the nickname the peer goes by now.
        if (event.self) this.#renameOnTheLan(event.nick);
        output({ event: 'nick-changed', old: event.old, nick: event.nick, self: event.self });
        return;
      case 'nick-conflict':
        output({
          event: 'nick-conflict',
          nick: event.nick,
          other: keyFingerprint(fromHex(event.key)),
          kept: event.kept,
        });
        return;
      case 'user-joined':
        output({ event: 'user-joined', room: event.room, nick: event.nick });
        return;
      case 'user-left':
        output({ event: 'user-left', room: event.room, nick: event.nick, reason: 'left' });
        return;
      case 'socket-error':
      case 'peer-stopped':
        return;
    }
  }
}

/** The terminal lines of a `lanchat peer` event. */
export function formatPeerEvent(event: PeerOutputEvent, self: string | undefined): string[] {
  const name = (value: string): string => nickColour(sanitizeForTerminal(value));
  switch (event.event) {
    case 'started':
      return [
        notice(
          `${pc.green('peer')} ${name(event.nick)}, key ${pc.bold(event.fingerprint)}` +
            (event.newIdentity ? ' (new identity)' : '') +
            (event.port === undefined
              ? ', accepting no peers (/host PORT to start)'
              : `, accepting peers on port ${event.port}`) +
            '. Type /help for commands.',
        ),
      ];
    case 'listening':
      return [notice(`accepting peers on port ${event.port}`)];
    case 'discovery':
      return [];
    case 'peer-connected': {
      const lines = [
        notice(
          `${pc.green('connected')} to ${name(event.nick)} (${event.fingerprint}, ${sanitizeForTerminal(event.host)}${event.incoming ? ', dialled in' : ''})` +
            (event.contact === 'new' ? ', new contact' : '') +
            (event.previousName === undefined
              ? ''
              : `, known as ${sanitizeForTerminal(event.previousName)} before`),
        ),
      ];
      if (event.contact === 'impostor') {
        lines.push(
          notice(
            pc.red(
              `WARNING: ${sanitizeForTerminal(event.nick)} has another key than your contact of that name (${event.contactFingerprint ?? '?'}): it may be someone else`,
            ),
          ),
        );
      }
      return lines;
    }
    case 'peer-disconnected':
      return [
        notice(
          (event.reason === 'closed'
            ? `disconnected from ${name(event.nick)}`
            : `${name(event.nick)} ${event.reason === 'left' ? 'left' : event.reason === 'hung-up' ? 'hung up on you' : `is gone (${sanitizeForTerminal(event.message)})`}`) +
            (event.redial ? '; dialling again' : ''),
        ),
      ];
    case 'redialing':
      return [];
    case 'peer-given-up':
      return [notice(`gave up dialling ${name(event.nick)}`)];
    case 'peer-listening':
      return [
        notice(
          `${name(event.nick)} now accepts peers at ${sanitizeForTerminal(event.host)}:${event.port}`,
        ),
      ];
    case 'peer-discovered':
      return [
        notice(
          `found ${name(event.nick)} at ${sanitizeForTerminal(event.host)}:${event.port}` +
            (event.via === 'discovery'
              ? ' on the LAN'
              : ` through ${sanitizeForTerminal(event.via)}`),
        ),
      ];
    case 'connect-failed':
      return [
        notice(
          pc.yellow(
            `could not connect to ${sanitizeForTerminal(event.host)}:${event.port}: ${sanitizeForTerminal(event.message)}`,
          ),
        ),
      ];
    case 'peer-key-rejected':
      return [
        notice(
          pc.red(
            `the peer at ${sanitizeForTerminal(event.host)}:${event.port} has CHANGED its key: pinned ${event.expectedFingerprint}, presented ${event.presentedFingerprint}. Refused. If you know why, /forget the contact and connect again.`,
          ),
        ),
      ];
    case 'nick-conflict':
      return [
        notice(
          event.kept
            ? `another peer (${event.other}) also calls itself ${sanitizeForTerminal(event.nick)}; you keep the name, it takes another`
            : `another peer (${event.other}) also calls itself ${sanitizeForTerminal(event.nick)} and keeps it; you take another name`,
        ),
      ];
    case 'peers':
      return event.peers.length === 0
        ? [notice('no peers yet: /connect HOST PORT')]
        : event.peers.map(
            (peer) =>
              `  ${name(peer.nick)}  ${peer.status === 'connected' ? pc.green(peer.status) : pc.dim(peer.status)}  ${peer.fingerprint}` +
              (peer.host === undefined ? '' : `  ${sanitizeForTerminal(peer.host)}:${peer.port}`),
          );
    case 'contacts':
      return event.contacts.length === 0
        ? [notice('no contacts yet')]
        : [
            notice('contacts (/connect NAME):'),
            ...event.contacts.map(
              (contact) =>
                `  ${name(contact.name)}  ${contact.host === undefined ? pc.dim('dials in') : `${sanitizeForTerminal(contact.host)}:${contact.port}`}  ${contact.fingerprint}  ${pc.dim(`seen ${contact.lastSeen.slice(0, 16).replace('T', ' ')}`)}`,
            ),
          ];
    case 'message':
      return [
        `${clock(event.ts)} ${pc.dim(`#${event.room}`)} ${name(event.from)}: ${sanitizeForTerminal(event.text)}`,
      ];
    default:
      return formatEvent(event, self);
  }
}
