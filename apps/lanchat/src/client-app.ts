/**
 * The client application: connects, checks the server's key against the pinned one, logs in,
 * runs commands, and turns what happens into {@link OutputEvent}s that a renderer (the terminal
 * UI or NDJSON) shows. The same logic serves both modes.
 *
 * @module
 */

import {
  InvalidStateError,
  type Presence,
  Secret,
  type UserInfo,
  checkRoomName,
  keyFingerprint,
  nameKey,
} from '@lanchat/core';
import { type ChatTcpClient, type TcpClientEvent, connectChat } from '@lanchat/tcp';
import { udpClientTransport } from '@lanchat/udp';
import { COMMAND_HELP, type Command, parseCommand, runLine } from './commands.js';
import { TransferDesk, isFileCommand, isFileEvent } from './transfer-desk.js';
import type { KnownHosts } from './known-hosts.js';

/** What the client shows or prints: one NDJSON line each in --json mode (docs/cli.md). */
export type OutputEvent =
  | {
      readonly event: 'connecting';
      readonly host: string;
      readonly port: number;
      readonly attempt: number;
      /** `tcp`, or `udp` with --udp. */
      readonly transport: string;
    }
  | {
      readonly event: 'server-key';
      readonly fingerprint: string;
      /** `new`: pinned now (first use); `known`: matches the pin; `replaced`: --accept-new-key. */
      readonly status: 'new' | 'known' | 'replaced';
      readonly previousFingerprint?: string;
    }
  | {
      readonly event: 'connected';
      readonly server: string;
      readonly nick: string;
      readonly user?: string;
      readonly rooms: readonly string[];
      readonly accounts: boolean;
    }
  | {
      readonly event: 'reconnecting';
      readonly attempt: number;
      readonly delay: number;
      readonly reason: string;
    }
  | { readonly event: 'reconnected'; readonly nick: string; readonly rooms: readonly string[] }
  | {
      readonly event: 'message';
      /** A number the server gave; in `lanchat peer`, a string unique in the mesh. */
      readonly id: number | string;
      readonly ts: number;
      readonly room: string;
      readonly from: string;
      readonly text: string;
    }
  | {
      readonly event: 'private-message';
      /** A number the server gave; in `lanchat peer`, a string unique in the mesh. */
      readonly id: number | string;
      readonly ts: number;
      readonly from: string;
      readonly text: string;
      readonly chat: boolean;
    }
  | {
      readonly event: 'sent';
      /** A number the server gave; in `lanchat peer`, a string unique in the mesh. */
      readonly id: number | string;
      readonly room?: string;
      readonly to?: string;
      readonly text: string;
      readonly chat?: boolean;
    }
  | { readonly event: 'delivered'; readonly id: number }
  | { readonly event: 'joined'; readonly room: string; readonly members: readonly string[] }
  | { readonly event: 'left'; readonly room: string }
  | { readonly event: 'user-joined'; readonly room: string; readonly nick: string }
  | {
      readonly event: 'user-left';
      readonly room: string;
      readonly nick: string;
      readonly reason: string;
    }
  | { readonly event: 'user-connected'; readonly nick: string }
  | { readonly event: 'user-disconnected'; readonly nick: string; readonly reason: string }
  | {
      readonly event: 'nick-changed';
      readonly old: string;
      readonly nick: string;
      readonly self: boolean;
    }
  | { readonly event: 'presence-changed'; readonly nick: string; readonly presence: Presence }
  | {
      readonly event: 'rooms';
      readonly rooms: readonly { readonly name: string; readonly members: number }[];
    }
  | {
      readonly event: 'users';
      readonly room?: string;
      readonly users: readonly UserInfo[];
      readonly more: number;
    }
  | { readonly event: 'chat-request'; readonly nick: string }
  | { readonly event: 'chat-started'; readonly nick: string }
  | { readonly event: 'chat-declined'; readonly nick: string }
  | { readonly event: 'chat-ended'; readonly nick: string; readonly by: string }
  | { readonly event: 'room-changed'; readonly room: string }
  | { readonly event: 'server-shutdown'; readonly message: string }
  | { readonly event: 'help'; readonly commands: readonly (readonly [string, string])[] }
  | {
      readonly event: 'error';
      readonly code: string;
      readonly message: string;
      /** The message or request id the error is about, if any. */
      readonly id?: number;
    }
  | (TransferFields & {
      readonly event: 'transfer-offered';
      readonly size: number;
      readonly sha256: string;
      readonly md5: string;
    })
  | (TransferFields & {
      readonly event: 'transfer-sending';
      readonly size: number;
      readonly sha256: string;
      readonly md5: string;
    })
  | (TransferFields & {
      readonly event: 'transfer-accepted';
      /** Bytes the receiver had already (a resumed transfer). */
      readonly offset: number;
      /** Incoming: the folder the file goes to. */
      readonly folder?: string;
    })
  | (TransferFields & {
      readonly event: 'transfer-progress';
      readonly bytes: number;
      readonly size: number;
      /** Bytes per second since the transfer (re)started. */
      readonly rate: number;
      /** Seconds left at that rate, when known. */
      readonly eta?: number;
    })
  | (TransferFields & { readonly event: 'transfer-interrupted' })
  | (TransferFields & {
      readonly event: 'transfer-completed';
      readonly size: number;
      readonly seconds: number;
      /** Average bytes per second. */
      readonly rate: number;
      readonly sha256: string;
      readonly md5: string;
      /** Incoming: where the file was saved. */
      readonly path?: string;
    })
  | (TransferFields & {
      readonly event: 'transfer-failed';
      readonly code: string;
      readonly message: string;
      /** True when the other side (or the server) ended it. */
      readonly remote: boolean;
    })
  | { readonly event: 'transfers'; readonly transfers: readonly TransferListEntry[] }
  | { readonly event: 'closed'; readonly reason: string; readonly exitCode: number };

/** What every transfer event says: which transfer, which way, with whom, which file. */
export interface TransferFields {
  /** The transfer's full id (32 hex digits). */
  readonly transfer: string;
  /** Its first 8 digits: what the commands take (any unique start of the id works). */
  readonly id: string;
  readonly direction: 'outgoing' | 'incoming';
  /** The other user. */
  readonly peer: string;
  /** The file's name as the sender gave it. */
  readonly name: string;
}

/** One line of `/transfers`. */
export interface TransferListEntry {
  readonly transfer: string;
  readonly id: string;
  readonly direction: 'outgoing' | 'incoming';
  readonly peer: string;
  readonly name: string;
  readonly size: number;
  readonly bytes: number;
  readonly state: string;
}

/** Options of {@link ClientApp}. */
export interface ClientAppOptions {
  readonly host: string;
  readonly port: number;
  /** `host:port` as the known-hosts file names it. */
  readonly hostKey: string;
  readonly nick: string | undefined;
  readonly user: string | undefined;
  /** Asked when the server requires a password (a prompt, or the environment). */
  readonly password: () => Promise<string | undefined>;
  readonly knownHosts: KnownHosts;
  /** Replace a changed pinned key instead of refusing it. */
  readonly acceptNewKey: boolean;
  /** Rooms to join after login. */
  readonly rooms: readonly string[];
  readonly output: (event: OutputEvent) => void;
  readonly reconnect?: boolean;
  /** Accept every file offered, into this folder (scripts). */
  readonly acceptFiles?: string;
  /** Where `/accept` puts a file when no folder is given. */
  readonly downloadDir: string;
  /** Largest file accepted, in bytes. */
  readonly maxFileSize?: number;
  /** One-shot mode: send this file to this user, then leave (exit 0 once it is done). */
  readonly sendFile?: { readonly to: string; readonly path: string };
  /**
   * Connect over UDP instead of TCP, to a server expected to hold `serverKey` (pinned, or from
   * discovery): the handshake is keyed by it.
   */
  readonly udp?: { readonly serverKey: Uint8Array };
}

/** Most input lines kept while the session is not logged in (connecting, reconnecting). */
export const MAX_WAITING_LINES = 10_000;

/** Exit codes of the client. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  keyChanged: 3,
} as const;

/**
 * One client session as an app: {@link ClientApp.start}, then {@link ClientApp.handleLine} for
 * each input line; {@link ClientApp.finished} resolves with the exit code.
 */
export class ClientApp {
  readonly #options: ClientAppOptions;
  #client: ChatTcpClient | undefined;
  /** Where plain text goes: a room, or a private chat partner. */
  #room: string | undefined;
  #chatPartner: string | undefined;
  #everConnected = false;
  #exitCode: number = ExitCode.ok;
  #closeReason = 'bye';
  #password: Secret | undefined;
  readonly #finished: Promise<number>;
  #resolveFinished: (code: number) => void = () => undefined;
  /** Lines typed or piped before the session was ready; run once it is (order kept). */
  readonly #waiting: string[] = [];
  #quitRequested = false;
  #quitTimer: NodeJS.Timeout | undefined;
  /** At the end of input, leave only once no transfer is going or waiting. */
  #waitForTransfers = false;
  readonly #desk: TransferDesk;
  /** The one-shot send has been started. */
  #sendStarted = false;

  constructor(options: ClientAppOptions) {
    this.#options = options;
    this.#desk = new TransferDesk({
      output: options.output,
      endpoint: () => {
        if (this.#client === undefined) throw new InvalidStateError('not started');
        return this.#client;
      },
      downloadDir: options.downloadDir,
      ...(options.acceptFiles === undefined ? {} : { acceptFiles: options.acceptFiles }),
      sendFailed: () => {
        if (this.#options.sendFile !== undefined) {
          this.#exitCode = ExitCode.failure;
          this.#closeReason = 'send-failed';
        }
      },
      ended: (ok) => {
        this.#oneShotDone(ok);
      },
      changed: () => {
        this.#quitWhenIdle();
      },
    });
    this.#finished = new Promise((resolve) => {
      this.#resolveFinished = resolve;
    });
  }

  /** Resolves with the exit code once the client has stopped. */
  get finished(): Promise<number> {
    return this.#finished;
  }

  /** The room plain text goes to. */
  get currentRoom(): string | undefined {
    return this.#room;
  }

  /** The private chat plain text goes to, if any. */
  get chatPartner(): string | undefined {
    return this.#chatPartner;
  }

  /** The session's nickname, once logged in. */
  get nick(): string | undefined {
    return this.#client?.session?.nick;
  }

  /** Connects. Events go to `output`. */
  start(): void {
    const options = this.#options;
    this.#client = connectChat({
      host: options.host,
      port: options.port,
      login: () => this.#loginDetails(),
      verifyServerKey: (key) => this.#verifyServerKey(key),
      reconnect: options.reconnect === false ? false : {},
      ...(options.udp === undefined
        ? {}
        : { transport: udpClientTransport({ serverKey: options.udp.serverKey }) }),
      ...(options.maxFileSize === undefined ? {} : { maxFileSize: options.maxFileSize }),
      onEvent: (event) => {
        this.#onEvent(event);
      },
    });
    void this.#client.stopped.then(() => {
      this.#options.output({
        event: 'closed',
        reason: this.#closeReason,
        exitCode: this.#exitCode,
      });
      this.#resolveFinished(this.#exitCode);
    });
  }

  /**
   * Runs one input line: a command or text. Errors become `error` events. Lines that come while
   * the session is not logged in (still connecting, or reconnecting) wait and run in order once
   * it is, so a script can pipe its commands at once; at most {@link MAX_WAITING_LINES} of them.
   */
  handleLine(line: string): void {
    if (this.#client?.online !== true || this.#waiting.length > 0) {
      if (this.#waiting.length >= MAX_WAITING_LINES) {
        this.#error(
          'input-overflow',
          `${MAX_WAITING_LINES} lines already wait for the connection; this one is dropped`,
        );
        return;
      }
      this.#waiting.push(line);
      return;
    }
    this.#runLine(line);
  }

  #runLine(line: string): void {
    runLine(
      line,
      parseCommand,
      (command) => {
        this.#run(command);
      },
      (code, message) => {
        this.#error(code, message);
      },
      (caught) =>
        InvalidStateError.isInstance(caught)
          ? ['not-connected', 'not connected to the server yet; wait a moment']
          : undefined,
    );
  }

  /**
   * Says goodbye once every waiting line has run and the server has answered every request (at
   * the end of input, or on /quit), so that a script's last messages are delivered. A server
   * that does not answer within 5 s does not hold the client. `now` skips the wait (Ctrl-C).
   */
  quit(now = false): void {
    this.#quitRequested = true;
    if (now) this.#waitForTransfers = false;
    if (now) {
      void this.#client?.bye();
      return;
    }
    this.#quitWhenIdle();
  }

  /**
   * The input ended (a script's last line): leave like {@link quit}, but only once every transfer
   * has ended, so that `echo "/send bob report.pdf" | lanchat --json connect ...` sends the file.
   */
  endOfInput(): void {
    this.#waitForTransfers = true;
    this.quit();
  }

  #quitWhenIdle(): void {
    if (!this.#quitRequested) return;
    if (this.#waitForTransfers && this.#desk.going()) return;
    if (this.#client?.online !== true) {
      // Reconnecting: input has ended, so nothing more can be said; leave now. (Before the first
      // login, wait: the login runs the waiting lines, then comes back here.)
      if (this.#everConnected) void this.#client?.bye();
      return;
    }
    if (this.#waiting.length > 0) return;
    const session = this.#client.session;
    if (session !== undefined && session.pendingRequests > 0) {
      this.#quitTimer ??= setTimeout(() => {
        void this.#client?.bye();
      }, 5000);
      return;
    }
    if (this.#quitTimer !== undefined) clearTimeout(this.#quitTimer);
    void this.#client.bye();
  }

  /** Runs the lines that waited for the session. */
  #runWaiting(): void {
    while (this.#waiting.length > 0 && this.#client?.online === true) {
      this.#runLine(this.#waiting.shift()!);
    }
    this.#quitWhenIdle();
  }

  #loginDetails(): { nick?: string; user?: string; password?: Secret; rooms?: string[] } {
    const options = this.#options;
    return {
      ...(options.nick === undefined ? {} : { nick: options.nick }),
      ...(options.user === undefined ? {} : { user: options.user }),
      ...(this.#password === undefined ? {} : { password: this.#password }),
      rooms: [...options.rooms],
    };
  }

  async #verifyServerKey(key: Uint8Array): Promise<boolean> {
    const options = this.#options;
    const fingerprint = keyFingerprint(key);
    const check = options.knownHosts.check(options.hostKey, key);
    if (check.status === 'changed' && !options.acceptNewKey) {
      this.#exitCode = ExitCode.keyChanged;
      this.#closeReason = 'server-key-changed';
      this.#error(
        'server-key-changed',
        `the server's key has CHANGED: pinned ${check.pinnedFingerprint}, presented ${check.presentedFingerprint}. ` +
          'Someone may be impersonating the server, or it was reinstalled. If you are sure, ' +
          'connect again with --accept-new-key.',
      );
      return false;
    }
    if (check.status !== 'known') await options.knownHosts.pin(options.hostKey, key);
    options.output({
      event: 'server-key',
      fingerprint,
      status: check.status === 'changed' ? 'replaced' : check.status,
      ...(check.status === 'changed' ? { previousFingerprint: check.pinnedFingerprint } : {}),
    });
    // The password is asked only now, once the server is known to be the right one.
    const session = this.#client?.session;
    if (
      session?.loginRequired === true &&
      this.#password === undefined &&
      options.user !== undefined
    ) {
      const password = await options.password();
      if (password !== undefined) this.#password = new Secret(password);
    }
    return true;
  }

  #run(command: Command): void {
    const client = this.#client;
    if (client === undefined) throw new InvalidStateError('not started');
    if (isFileCommand(command)) {
      this.#desk.run(command);
      return;
    }
    switch (command.kind) {
      case 'nothing':
        return;
      case 'help':
        this.#options.output({ event: 'help', commands: COMMAND_HELP });
        return;
      case 'quit':
        this.quit();
        return;
      case 'nick':
        client.setNick(command.nick);
        return;
      case 'join':
        client.join(command.room);
        return;
      case 'leave': {
        const room = command.room ?? this.#room;
        if (room === undefined) {
          this.#error('not-in-room', 'you are in no room');
          return;
        }
        client.leave(room);
        return;
      }
      case 'room': {
        const key = nameKey(checkRoomName(command.room));
        const room = client.session?.rooms.find((name) => nameKey(name) === key);
        if (room === undefined) {
          this.#error('not-in-room', `you are not in the room ${command.room}; /join it first`);
          return;
        }
        this.#room = room;
        this.#chatPartner = undefined;
        this.#options.output({ event: 'room-changed', room });
        return;
      }
      case 'rooms':
        client.listRooms();
        return;
      case 'users':
        client.listUsers(command.room);
        return;
      case 'msg': {
        const id = client.sendPrivate(command.nick, command.text);
        this.#noteSent({ event: 'sent', id, to: command.nick, text: command.text });
        return;
      }
      case 'chat':
        client.requestChat(command.nick);
        return;
      case 'decline':
        client.declineChat(command.nick);
        return;
      case 'end': {
        const nick = command.nick ?? this.#chatPartner;
        if (nick === undefined) {
          this.#error('chat-not-active', 'you are in no private chat');
          return;
        }
        client.endChat(nick);
        return;
      }
      case 'presence':
        client.setPresence(command.presence);
        return;
      case 'say': {
        if (this.#chatPartner !== undefined) {
          const id = client.sendPrivate(this.#chatPartner, command.text, { chat: true });
          this.#noteSent({
            event: 'sent',
            id,
            to: this.#chatPartner,
            text: command.text,
            chat: true,
          });
          return;
        }
        const room = this.#room;
        if (room === undefined) {
          this.#error('not-in-room', 'you are in no room; /join one first');
          return;
        }
        const id = client.say(room, command.text);
        this.#noteSent({ event: 'sent', id, room, text: command.text });
        return;
      }
    }
  }

  /** One-shot mode: the file went (or did not); leave. */
  #oneShotDone(ok: boolean): void {
    if (this.#options.sendFile === undefined) return;
    if (!ok) {
      this.#exitCode = ExitCode.failure;
      this.#closeReason = 'transfer-failed';
    }
    this.quit();
  }

  #noteSent(event: OutputEvent & { readonly event: 'sent' }): void {
    this.#options.output(event);
  }

  #error(code: string, message: string, id?: number): void {
    this.#options.output({ event: 'error', code, message, ...(id === undefined ? {} : { id }) });
  }

  #onEvent(event: TcpClientEvent): void {
    if (!isFileEvent(event) || !this.#desk.show(event)) this.#show(event);
    const oneShot = this.#options.sendFile;
    if (event.type === 'login-succeeded' && oneShot !== undefined && !this.#sendStarted) {
      this.#sendStarted = true;
      this.#waitForTransfers = true;
      this.#quitRequested = true;
      if (this.#client !== undefined) this.#desk.send(oneShot.to, oneShot.path);
    }
    if (event.type === 'login-succeeded' || event.type === 'reconnected') {
      // Let the adapter finish its own bookkeeping of this event first.
      setImmediate(() => {
        this.#runWaiting();
      });
    } else if (event.type === 'client-stopped') {
      if (this.#quitTimer !== undefined) clearTimeout(this.#quitTimer);
    } else {
      this.#quitWhenIdle();
    }
  }

  #show(event: TcpClientEvent): void {
    const output = this.#options.output;
    switch (event.type) {
      case 'connecting':
        if (event.attempt === 0)
          output({
            event: 'connecting',
            host: event.host,
            port: event.port,
            attempt: 0,
            transport: event.transport,
          });
        return;
      case 'connection-error':
        if (!this.#everConnected)
          this.#error('connection-failed', `cannot reach the server: ${event.error.message}`);
        return;
      case 'login-succeeded':
        if (!this.#everConnected) {
          this.#everConnected = true;
          output({
            event: 'connected',
            server: event.server,
            nick: event.nick,
            ...(event.user === undefined ? {} : { user: event.user }),
            rooms: event.rooms,
            accounts: event.accounts,
          });
        }
        this.#room ??= event.rooms.at(-1) ?? event.lobby;
        return;
      case 'login-failed':
        this.#error(
          event.code,
          `login refused: ${event.message}${event.code === 'login-required' ? ' (connect with --user NAME)' : ''}`,
        );
        if (!this.#everConnected) {
          this.#exitCode = ExitCode.failure;
          this.#closeReason = 'login-failed';
          this.#client?.destroy();
        }
        return;
      case 'reconnect-scheduled':
        this.#chatPartner = undefined;
        output({
          event: 'reconnecting',
          attempt: event.attempt,
          delay: event.delay,
          reason: event.reason,
        });
        return;
      case 'reconnected':
        output({ event: 'reconnected', nick: event.nick, rooms: event.rooms });
        return;
      case 'room-joined':
        this.#room = event.room;
        this.#chatPartner = undefined;
        output({ event: 'joined', room: event.room, members: event.members });
        return;
      case 'room-left': {
        if (this.#room !== undefined && nameKey(this.#room) === nameKey(event.room)) {
          this.#room = this.#client?.session?.rooms.at(-1);
        }
        output({ event: 'left', room: event.room });
        return;
      }
      case 'rooms-listed':
        output({ event: 'rooms', rooms: event.rooms });
        return;
      case 'users-listed':
        output({
          event: 'users',
          ...(event.room === undefined ? {} : { room: event.room }),
          users: event.users,
          more: event.more,
        });
        return;
      case 'message-received':
        output({
          event: 'message',
          id: event.id,
          ts: event.ts,
          room: event.room,
          from: event.from,
          text: event.text,
        });
        return;
      case 'private-message-received':
        output({
          event: 'private-message',
          id: event.id,
          ts: event.ts,
          from: event.from,
          text: event.text,
          chat: event.chat,
        });
        return;
      case 'message-delivered':
        output({ event: 'delivered', id: event.id });
        return;
      case 'message-failed':
        this.#error(event.code, `not delivered: ${event.message}`, event.id);
        return;
      case 'request-failed':
        this.#error(event.code, event.message, event.id);
        return;
      case 'user-joined':
        output({ event: 'user-joined', room: event.room, nick: event.nick });
        return;
      case 'user-left':
        output({ event: 'user-left', room: event.room, nick: event.nick, reason: event.reason });
        return;
      case 'user-connected':
        output({ event: 'user-connected', nick: event.nick });
        return;
      case 'user-disconnected':
        output({ event: 'user-disconnected', nick: event.nick, reason: event.reason });
        return;
      case 'nick-changed':
        if (this.#chatPartner !== undefined && nameKey(this.#chatPartner) === nameKey(event.old)) {
          this.#chatPartner = event.nick;
        }
        output({ event: 'nick-changed', old: event.old, nick: event.nick, self: event.self });
        return;
      case 'presence-changed':
        output({ event: 'presence-changed', nick: event.nick, presence: event.presence });
        return;
      case 'chat-requested':
        output({ event: 'chat-request', nick: event.nick });
        return;
      case 'chat-started':
        this.#chatPartner = event.nick;
        output({ event: 'chat-started', nick: event.nick });
        return;
      case 'chat-declined':
        output({ event: 'chat-declined', nick: event.nick });
        return;
      case 'chat-ended':
        if (this.#chatPartner !== undefined && nameKey(this.#chatPartner) === nameKey(event.nick)) {
          this.#chatPartner = this.#client?.session?.chats.at(-1);
        }
        output({ event: 'chat-ended', nick: event.nick, by: event.by });
        return;
      case 'server-shutdown':
        output({ event: 'server-shutdown', message: event.message });
        return;
      case 'server-error':
        this.#error(event.code, event.message);
        return;
      case 'server-key-rejected':
        if (this.#exitCode === ExitCode.ok) this.#exitCode = ExitCode.failure;
        return;
      case 'session-closed':
        if (event.reason === 'protocol-error' && event.error !== undefined) {
          this.#error(event.error.name, event.error.message);
        }
        return;
      case 'client-stopped':
        if (
          this.#options.udp !== undefined &&
          !this.#everConnected &&
          this.#exitCode === ExitCode.ok &&
          event.reason === 'could not connect'
        ) {
          // Over UDP nothing says "refused": a server that is not there, that does not serve
          // UDP, or whose key is not the one expected (it drops such a handshake) stays silent.
          this.#error(
            'connection-failed',
            `no answer over UDP from ${this.#options.host}:${this.#options.port}: is the server ` +
              'running with --udp? If its key changed, `lanchat discover HOST` shows the new one ' +
              '(connect with --accept-new-key to take it).',
          );
        }
        if (this.#exitCode === ExitCode.ok && event.reason !== 'bye') {
          this.#exitCode = ExitCode.failure;
          this.#closeReason = event.reason;
        }
        return;
      case 'server-identified':
        return;
    }
  }
}
