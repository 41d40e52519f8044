/**
 * The `lanchat-server` command: runs a server, or manages its accounts.
 *
 * @module
 */

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadOrCreateIdentity } from '@lanchat/app-support';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { createInterface } from 'node:readline';
import { Command, InvalidArgumentError as CommanderArgumentError, Option } from 'commander';
import pc from 'picocolors';
import { DEFAULT_DISCOVERY_PORT, LanchatError, checkName, checkRoomName } from '@lanchat/core';
import { DEFAULT_PORT, type TcpServerEvent, listenChat } from '@lanchat/tcp';
import {
  DEFAULT_MDNS_PORT,
  type MdnsAdvertisement,
  type ServerAnnouncer,
  type UdpTransport,
  advertiseMdns,
  announceServer,
  udpTransport,
} from '@lanchat/udp';
import { type WebSocketTransport, webSocketTransport } from '@lanchat/ws';
import { ACCOUNTS_FILE_NAME, AccountStore } from './accounts.js';
import { ensureDataDir, resolveDataDir } from './data-dir.js';
import { discoveryName } from './discovery-name.js';
import { lanAddresses } from './lan-addresses.js';

interface GlobalOptions {
  readonly dataDir?: string;
  readonly json?: boolean;
}

interface ServeOptions extends GlobalOptions {
  readonly host: string;
  readonly port: number;
  readonly accounts?: boolean;
  readonly name?: string;
  readonly lobby?: string;
  readonly maxText?: number;
  readonly loginBackoff?: number;
  /** False with --no-discovery. */
  readonly discovery: boolean;
  readonly discoveryPort: number;
  readonly mdnsPort: number;
  /** Also serve the chat over UDP, on the same port number. */
  readonly udp?: boolean;
  /** Also serve browsers (true), with the web page of this folder (a string). */
  readonly web?: boolean | string;
}

/** The web page built into the server (@lanchat/web), served by `--web` without a folder. */
const BUNDLED_PAGE = fileURLToPath(new URL('./web', import.meta.url));

/** The address to give `lanchat connect --udp`: the first LAN address with the UDP port. */
function udpAddress(first: string | undefined, port: number, udpPort: number): string {
  if (first === undefined) return `127.0.0.1:${udpPort}`;
  return udpPort === port ? first : first.replace(/:\d+$/, `:${udpPort}`);
}

function validated<T>(check: (value: string) => T): (value: string) => T {
  return (value) => {
    try {
      return check(value);
    } catch (error) {
      if (LanchatError.isInstance(error) || error instanceof RangeError) {
        throw new CommanderArgumentError(error.message);
      }
      throw error;
    }
  };
}

function parsePortOption(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65_535) {
    throw new RangeError(
      `invalid port "${text}": a port is a number from 0 to 65535 (0: any free port)`,
    );
  }
  return Number(text);
}

function parseLoginBackoff(text: string): number {
  if (!/^\d{1,9}$/.test(text) || Number(text) < 1) {
    throw new RangeError(`invalid --login-backoff "${text}": a number of milliseconds from 1`);
  }
  return Number(text);
}

function parseMaxText(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65_536) {
    throw new RangeError(`invalid --max-text "${text}": a number of bytes from 1 to 65536`);
  }
  return Number(text);
}

/** Writes server events: human lines, or one JSON object per line with --json. */
class EventLog {
  readonly #json: boolean;

  constructor(json: boolean) {
    this.#json = json;
  }

  write(event: string, fields: Readonly<Record<string, unknown>>, human: string | undefined): void {
    if (this.#json) {
      process.stdout.write(
        `${JSON.stringify({ time: new Date().toISOString(), event, ...fields })}\n`,
      );
    } else if (human !== undefined) {
      const time = new Date().toTimeString().slice(0, 8);
      process.stdout.write(`${pc.dim(time)} ${human}\n`);
    }
  }

  /** A server event, with what it means for people. Passwords never appear: they are Secrets. */
  server(event: TcpServerEvent): void {
    switch (event.type) {
      case 'login-requested':
        return;
      case 'user-logged-in':
        this.write(
          event.type,
          {
            connection: event.connection,
            address: event.address,
            nick: event.nick,
            user: event.user,
          },
          `${pc.green('+')} ${event.nick}${event.user === undefined ? '' : ` (account ${event.user})`} from ${event.address}`,
        );
        return;
      case 'user-logged-out':
        this.write(
          event.type,
          { connection: event.connection, nick: event.nick, reason: event.reason },
          `${pc.red('-')} ${event.nick} (${event.reason})`,
        );
        return;
      case 'login-refused':
        this.write(
          event.type,
          {
            connection: event.connection,
            address: event.address,
            code: event.code,
            user: event.user,
            nick: event.nick,
          },
          pc.yellow(
            `login refused for ${event.user ?? event.nick ?? '?'} from ${event.address}: ${event.code}`,
          ),
        );
        return;
      case 'nickname-changed':
        this.write(
          event.type,
          { connection: event.connection, old: event.old, nick: event.nick },
          `${event.old} is now ${event.nick}`,
        );
        return;
      case 'room-created':
      case 'room-removed':
        this.write(
          event.type,
          { room: event.room },
          pc.dim(`room #${event.room} ${event.type === 'room-created' ? 'created' : 'removed'}`),
        );
        return;
      case 'connection-refused':
        this.write(
          event.type,
          { address: event.address, reason: event.reason },
          pc.yellow(`refused a connection from ${event.address}: ${event.reason}`),
        );
        return;
      case 'connection-failed':
        this.write(
          event.type,
          {
            connection: event.connection,
            address: event.address,
            error: event.error.name,
            message: event.error.message,
          },
          pc.yellow(`connection from ${event.address} failed: ${event.error.message}`),
        );
        return;
      case 'connection-ending':
        this.write(
          event.type,
          { connection: event.connection, reason: event.reason, graceful: event.graceful },
          undefined,
        );
        return;
      case 'socket-error':
        this.write(
          event.type,
          { connection: event.connection, address: event.address, message: event.error.message },
          undefined,
        );
        return;
    }
  }
}

async function serve(options: ServeOptions): Promise<number> {
  const log = new EventLog(options.json === true);
  const dataDir = resolveDataDir(options.dataDir);
  const identity = await loadOrCreateIdentity(dataDir);
  let accounts: AccountStore | undefined;
  if (options.accounts === true) {
    accounts = await AccountStore.open(path.join(dataDir, ACCOUNTS_FILE_NAME));
    if (accounts.size === 0) {
      log.write(
        'warning',
        { message: 'no accounts yet' },
        pc.yellow(
          'login is required but there are no accounts yet: add one with `lanchat-server users add NAME`',
        ),
      );
    }
  }
  const store = accounts;
  const controller = new AbortController();
  const udp: UdpTransport | undefined =
    options.udp === true
      ? udpTransport({
          onError: (event) => {
            log.write(
              'socket-error',
              { address: event.address, message: event.error.message },
              undefined,
            );
          },
        })
      : undefined;
  const web: WebSocketTransport | undefined =
    options.web === undefined || options.web === false
      ? undefined
      : webSocketTransport({
          page: typeof options.web === 'string' ? options.web : BUNDLED_PAGE,
        });
  const transports = [...(udp === undefined ? [] : [udp]), ...(web === undefined ? [] : [web])];
  const server = await listenChat({
    staticKeyPair: identity.keyPair,
    host: options.host,
    port: options.port,
    accounts: store !== undefined,
    ...(store === undefined
      ? {}
      : { verifyLogin: (user, password) => store.verify(user, password) }),
    ...(options.name === undefined ? {} : { name: options.name }),
    ...(options.lobby === undefined ? {} : { lobby: options.lobby }),
    ...(options.maxText === undefined ? {} : { maxTextBytes: options.maxText }),
    ...(options.loginBackoff === undefined
      ? {}
      : { loginLimiter: { baseDelay: options.loginBackoff } }),
    signal: controller.signal,
    ...(transports.length === 0 ? {} : { transports }),
    ...(web === undefined ? {} : { http: web.http }),
    onEvent: (event) => {
      log.server(event);
    },
  });
  const port = server.address().port;
  const udpPort = udp?.address().port;
  const addresses = lanAddresses(options.host, port);
  log.write(
    'listening',
    {
      host: options.host,
      port,
      addresses,
      fingerprint: identity.fingerprint,
      identityCreated: identity.created,
      accounts: store !== undefined,
      dataDir,
      ...(udpPort === undefined ? {} : { udpPort }),
      ...(web === undefined ? {} : { web: true }),
    },
    [
      `${pc.bold('lanchat-server')} listening on port ${pc.bold(String(port))}${udpPort === undefined ? '' : ` (TCP and UDP${udpPort === port ? '' : ` ${udpPort}`})`}`,
      `  reach it at: ${addresses.map((address) => pc.cyan(address)).join(', ')}`,
      `  key fingerprint: ${pc.bold(identity.fingerprint)}${identity.created ? ' (new identity)' : ''}`,
      `  ${store === undefined ? 'open server: anyone may pick a free nickname' : `login required (${store.size} accounts)`}`,
      `  connect with: lanchat connect ${addresses[0] ?? `127.0.0.1:${port}`}`,
      ...(udpPort === undefined
        ? []
        : [`  over UDP:     lanchat connect --udp ${udpAddress(addresses[0], port, udpPort)}`]),
      ...(web === undefined
        ? []
        : [`  in a browser: http://${addresses[0] ?? `127.0.0.1:${port}`}/`]),
    ].join('\n'),
  );
  const announcer = options.discovery
    ? await startDiscovery(
        log,
        options,
        identity.keyPair.publicKey,
        port,
        udpPort,
        web !== undefined,
      )
    : undefined;
  const advertisement =
    options.discovery && options.mdnsPort !== 0 && announcer !== undefined
      ? startMdns(log, options, identity.fingerprint, port)
      : undefined;
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        // A second Ctrl-C: do not wait for slow clients.
        process.exit(1);
      }
      stopping = true;
      log.write('stopping', { signal }, `${signal}: telling clients and shutting down...`);
      void Promise.all([
        announcer?.close(),
        advertisement?.close(),
        server.close('the server is shutting down'),
      ]).then(() => {
        process.off('SIGINT', onInterrupt);
        process.off('SIGTERM', onTerminate);
        log.write('stopped', {}, 'stopped');
        resolve(0);
      });
    };
    const onInterrupt = (): void => {
      stop('SIGINT');
    };
    const onTerminate = (): void => {
      stop('SIGTERM');
    };
    process.on('SIGINT', onInterrupt);
    process.on('SIGTERM', onTerminate);
  });
}

/**
 * Announces the server on the LAN (docs/protocol.md, section 10). Discovery is a convenience: if
 * its port cannot be had, the server says so and runs without it.
 */
async function startDiscovery(
  log: EventLog,
  options: ServeOptions,
  publicKey: Uint8Array,
  port: number,
  udpPort: number | undefined,
  web: boolean,
): Promise<ServerAnnouncer | undefined> {
  const name = discoveryName(options.name);
  // Announced where the server can be reached: everywhere when it listens on every address,
  // else on the interface of its one IPv4 address (discovery is IPv4 only).
  const wildcard = options.host === '::' || options.host === '0.0.0.0' || options.host === '';
  if (!wildcard && isIP(options.host) !== 4) {
    log.write(
      'warning',
      {
        message: `LAN discovery is off: it is IPv4 only, and the server listens on ${options.host}`,
      },
      pc.yellow(`LAN discovery is off: it is IPv4 only, and the server listens on ${options.host}`),
    );
    return undefined;
  }
  try {
    const announcer = await announceServer({
      name,
      publicKey,
      ports: {
        tcp: port,
        ...(udpPort === undefined ? {} : { udp: udpPort }),
        ...(web ? { ws: port } : {}),
      },
      port: options.discoveryPort,
      ...(wildcard ? {} : { interfaces: [options.host] }),
      onError: (error) => {
        log.write('discovery-error', { message: error.message }, undefined);
      },
    });
    log.write(
      'discovery',
      { name, port: announcer.port },
      `  announced on the LAN as ${pc.bold(name)} (UDP port ${announcer.port}${options.mdnsPort === 0 ? '' : ', and over mDNS as _lanchat._tcp'}; --no-discovery turns it off)`,
    );
    return announcer;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log.write(
      'warning',
      { message: `LAN discovery is off: ${message}` },
      pc.yellow(`LAN discovery is off: ${message}`),
    );
    return undefined;
  }
}

/** Advertises the server over mDNS / DNS-SD as `_lanchat._tcp`, for standard tools. */
function startMdns(
  log: EventLog,
  options: ServeOptions,
  fingerprint: string,
  port: number,
): MdnsAdvertisement {
  const wildcard = options.host === '::' || options.host === '0.0.0.0' || options.host === '';
  return advertiseMdns({
    name: discoveryName(options.name),
    port,
    fingerprint,
    mdnsPort: options.mdnsPort,
    ...(wildcard ? {} : { interface: options.host }),
    onError: (error) => {
      log.write('discovery-error', { message: `mDNS: ${error.message}` }, undefined);
    },
  });
}

/** Reads a password: hidden from a terminal prompt, or the first line of stdin when piped. */
async function readPassword(prompt: string): Promise<string> {
  if (process.stdin.isTTY) {
    const { promptHidden } = await import('@lanchat/app-support');
    const first = await promptHidden(prompt);
    const second = await promptHidden('again: ');
    if (first === undefined || first !== second) throw new RangeError('the passwords do not match');
    return first;
  }
  const lines = createInterface({ input: process.stdin, terminal: false });
  for await (const line of lines) {
    lines.close();
    return line;
  }
  throw new RangeError('no password on standard input');
}

async function openAccounts(options: GlobalOptions): Promise<AccountStore> {
  const dataDir = await ensureDataDir(resolveDataDir(options.dataDir));
  return AccountStore.open(path.join(dataDir, ACCOUNTS_FILE_NAME));
}

/** Builds the command-line program. */
export function createProgram(): Command {
  const program = new Command('lanchat-server')
    .description('A lanchat server: encrypted chat on a local network, with no cloud.')
    .option(
      '--data-dir <dir>',
      'where the identity key and accounts are kept (default: $XDG_DATA_HOME/lanchat-server)',
    )
    .option('--json', 'print events as JSON lines')
    .option('--host <address>', 'address to listen on', '::')
    .addOption(
      new Option('--port <port>', 'port to listen on; 0 for any free port')
        .default(DEFAULT_PORT)
        .argParser(validated(parsePortOption)),
    )
    .option('--accounts', 'require login with a username and password (see `users`)')
    .option('--name <name>', 'the server name shown to users')
    .option('--lobby <room>', 'the room everyone joins', validated(checkRoomName))
    .option('--udp', 'also serve the chat over UDP, on the same port number')
    .option(
      '--web [dir]',
      'also serve browsers on the same port: the chat over WebSocket, and the web page of DIR',
    )
    .option('--no-discovery', 'do not announce the server on the LAN (see `lanchat discover`)')
    .addOption(
      new Option('--discovery-port <port>', 'UDP port of LAN discovery')
        .default(DEFAULT_DISCOVERY_PORT)
        .argParser(validated(parsePortOption)),
    )
    .addOption(
      new Option('--mdns-port <port>', 'UDP port of mDNS / DNS-SD; 0 turns mDNS off')
        .default(DEFAULT_MDNS_PORT)
        .argParser(validated(parsePortOption)),
    )
    .option(
      '--max-text <bytes>',
      'the longest chat text relayed, in bytes of UTF-8 (default 4096, at most 65536)',
      validated(parseMaxText),
    )
    .option(
      '--login-backoff <ms>',
      'wait imposed after the 4th failed login of an account or host, doubling with each further one (default 1000, up to 5 minutes)',
      validated(parseLoginBackoff),
    )
    .showHelpAfterError()
    .exitOverride()
    .action(async () => {
      process.exitCode = await serve(program.opts<ServeOptions>());
    });
  const users = program
    .command('users')
    .description('manage the accounts of a server that requires login');
  users
    .command('add')
    .argument('<name>', 'the username')
    .description(
      'add an account (the password is asked, or read from stdin when it is not a terminal)',
    )
    .option('--replace', 'replace the password of an existing account')
    .action(async (name: string, options: { replace?: boolean }) => {
      const username = checkName('username', name);
      const store = await openAccounts(program.opts<GlobalOptions>());
      const password = await readPassword(`password for ${username}: `);
      const result = await store.add(username, password, { replace: options.replace === true });
      process.stdout.write(
        `${result === 'added' ? 'added' : 'replaced the password of'} ${username}\n`,
      );
    });
  users
    .command('remove')
    .argument('<name>', 'the username')
    .description('remove an account')
    .action(async (name: string) => {
      const store = await openAccounts(program.opts<GlobalOptions>());
      if (!(await store.remove(name))) {
        process.stderr.write(`lanchat-server: no account is called ${name}\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`removed ${name}\n`);
    });
  users
    .command('list')
    .description('list the accounts')
    .action(async () => {
      const store = await openAccounts(program.opts<GlobalOptions>());
      const names = store.list();
      if (program.opts<GlobalOptions>().json === true)
        process.stdout.write(`${JSON.stringify({ users: names })}\n`);
      else process.stdout.write(names.length === 0 ? 'no accounts\n' : `${names.join('\n')}\n`);
    });
  users
    .command('import')
    .argument('<file>', 'a CSV file of username,password lines')
    .description('add the accounts of a username,password CSV file (the original program 2 format)')
    .option('--keep', 'leave existing accounts unchanged (default: replace their passwords)')
    .action(async (file: string, options: { keep?: boolean }) => {
      const store = await openAccounts(program.opts<GlobalOptions>());
      const result = await store.importCsv(await readFile(file, 'utf8'), {
        replace: options.keep !== true,
      });
      for (const error of result.errors)
        process.stderr.write(`${file}:${error.line}: ${error.message}\n`);
      process.stdout.write(
        `${result.added.length} added, ${result.replaced.length} replaced, ${result.errors.length} refused\n`,
      );
      if (result.errors.length > 0) process.exitCode = 1;
    });
  return program;
}

async function main(): Promise<void> {
  try {
    await createProgram().parseAsync(process.argv);
  } catch (error) {
    if (error instanceof Error && 'exitCode' in error && typeof error.exitCode === 'number') {
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    if (LanchatError.isInstance(error) || error instanceof RangeError) {
      process.stderr.write(`lanchat-server: ${error.message}\n`);
      process.exitCode = LanchatError.isInstance(error) && error.name.startsWith('Invalid') ? 2 : 1;
      return;
    }
    if (error instanceof Error && 'code' in error && typeof error.code === 'string') {
      // A system error (EADDRINUSE, EACCES, ENOENT...): its message names the call and the path.
      process.stderr.write(`lanchat-server: ${error.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
}

await main();
