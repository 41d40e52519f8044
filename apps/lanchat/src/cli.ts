/**
 * The `lanchat` command: `lanchat [--json] connect HOST[:PORT] [--name NAME] [--user USER]`, and
 * `lanchat [--json] send HOST[:PORT] USER PATH` to send one file and leave.
 *
 * @module
 */

import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { homedir, userInfo } from 'node:os';
import cliProgress from 'cli-progress';
import { Command, InvalidArgumentError as CommanderArgumentError } from 'commander';
import {
  DEFAULT_DISCOVERY_PORT,
  InvalidArgumentError,
  LanchatError,
  checkName,
  checkNickname,
  checkRoomName,
} from '@lanchat/core';
import { DEFAULT_PEER_PORT, connectChat } from '@lanchat/tcp';
import { discoverServers } from '@lanchat/udp';
import { type ServerAddress, formatHostKey, parseServerAddress } from './address.js';
import { ClientApp, ExitCode, type OutputEvent } from './client-app.js';
import { ensureConfigDir, resolveConfigDir } from './config-dir.js';
import { KNOWN_HOSTS_FILE_NAME, KnownHosts } from './known-hosts.js';
import { loadOrCreateIdentity, promptHidden } from '@lanchat/app-support';
import { type ReachableServer, formatServerList, hostKeyOf, reachableServers } from './discover.js';
import { formatBytes } from './progress.js';
import { TerminalUi, formatEvent } from './terminal-ui.js';
import { CONTACTS_FILE_NAME, Contacts } from './contacts.js';
import { PeerApp, type PeerOutputEvent, formatPeerEvent } from './peer-app.js';

interface ConnectOptions {
  readonly name?: string;
  readonly user?: string;
  readonly room?: string[];
  readonly acceptNewKey?: boolean;
  readonly configDir?: string;
  readonly reconnect: boolean;
  readonly acceptFiles?: string;
  readonly downloadDir?: string;
  readonly discoveryPort?: number;
  readonly udp?: boolean;
}

interface PeerOptions {
  readonly name?: string;
  readonly listen: number | false;
  readonly bind?: string;
  readonly connect?: string[];
  readonly room?: string[];
  readonly configDir?: string;
  readonly acceptFiles?: string;
  readonly downloadDir?: string;
  readonly discovery: boolean;
  readonly discoveryPort?: number;
}

/** The name of the peer's identity key file in the configuration directory. */
export const PEER_IDENTITY_FILE_NAME = 'peer-identity.key';

interface DiscoverOptions {
  readonly timeout: number;
  readonly discoveryPort: number;
  readonly configDir?: string;
}

/** Parses a port number option (0 to 65535). */
function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) {
    throw new CommanderArgumentError('a port is a number from 0 to 65535');
  }
  return port;
}

/** Parses a duration in milliseconds (1 to 60000). */
function parseTimeout(value: string): number {
  const timeout = Number(value);
  if (!/^\d+$/.test(value) || timeout < 1 || timeout > 60_000) {
    throw new CommanderArgumentError('a timeout is a number of milliseconds from 1 to 60000');
  }
  return timeout;
}

/** `--room`, repeatable: every room given, checked. */
function collectRoom(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), validated(checkRoomName)(value)];
}

/** Where `/accept` saves files by default: $XDG_DOWNLOAD_DIR, ~/Downloads, or here. */
function defaultDownloadDir(): string {
  const xdg = process.env['XDG_DOWNLOAD_DIR'];
  if (xdg !== undefined && xdg.length > 0) return xdg;
  const downloads = path.join(homedir(), 'Downloads');
  return existsSync(downloads) ? downloads : process.cwd();
}

/** Commander's check for option values: our typed errors become usage errors. */
function validated<T>(check: (value: string) => T): (value: string) => T {
  return (value) => {
    try {
      return check(value);
    } catch (error) {
      if (LanchatError.isInstance(error)) throw new CommanderArgumentError(error.message);
      throw error;
    }
  };
}

function defaultNick(): string | undefined {
  try {
    return checkNickname(userInfo().username);
  } catch {
    return undefined;
  }
}

/** The known_hosts of the configuration directory (`--config-dir`, or the default, made if missing). */
async function openKnownHosts(configDir: string | undefined): Promise<KnownHosts> {
  const directory = await ensureConfigDir(resolveConfigDir(configDir));
  return KnownHosts.open(path.join(directory, KNOWN_HOSTS_FILE_NAME));
}

/** One line of --json output: an event with the time it happened. */
function jsonLine(event: OutputEvent | Readonly<Record<string, unknown>>): string {
  return `${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`;
}

/**
 * Looks for servers on the LAN and prints them: a numbered list, or in --json mode one
 * `server-found` line per server and a `discovered` line at the end. Exit 0 if any answered.
 */
async function discoverCommand(
  hosts: readonly string[],
  options: DiscoverOptions,
  json: boolean,
): Promise<number> {
  const knownHosts = await openKnownHosts(options.configDir);
  const found = await discoverServers({
    timeout: options.timeout,
    port: options.discoveryPort,
    hosts,
  });
  const servers = reachableServers(found);
  const peers = reachableServers(found, 'tcp', true);
  if (json) {
    for (const server of servers) {
      process.stdout.write(
        jsonLine({
          event: 'server-found',
          name: server.name,
          host: server.host,
          port: server.port,
          ...(server.udpPort === undefined ? {} : { udpPort: server.udpPort }),
          addresses: [...server.addresses],
          fingerprint: server.fingerprint,
          key: knownHosts.check(hostKeyOf(server), server.publicKey).status,
        }),
      );
    }
    for (const peer of peers) {
      process.stdout.write(
        jsonLine({
          event: 'peer-found',
          name: peer.name,
          host: peer.host,
          port: peer.port,
          addresses: [...peer.addresses],
          fingerprint: peer.fingerprint,
        }),
      );
    }
    process.stdout.write(
      jsonLine({ event: 'discovered', count: servers.length, peers: peers.length }),
    );
  } else if (servers.length === 0 && peers.length === 0) {
    process.stdout.write(
      `no lanchat server answered within ${options.timeout} ms (a server started with --no-discovery, or on another network, needs its address)\n`,
    );
  } else {
    if (servers.length > 0) {
      const lines = formatServerList(servers, (server) =>
        knownHosts.check(hostKeyOf(server), server.publicKey),
      );
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    if (peers.length > 0) {
      process.stdout.write(
        `peers without a server (join them with: lanchat peer --connect HOST:PORT)\n` +
          peers
            .map(
              (peer, index) =>
                `${String(index + 1).padStart(3)}. ${peer.name}  ${peer.target}  ${peer.fingerprint}`,
            )
            .join('\n') +
          '\n',
      );
    }
  }
  return servers.length + peers.length > 0 ? ExitCode.ok : ExitCode.failure;
}

/**
 * `lanchat connect` without an address: discovery finds the servers; one is taken, several are
 * offered as a list to choose from (on a terminal), none is an error.
 */
async function chooseServer(
  options: ConnectOptions,
  knownHosts: KnownHosts,
  interactive: boolean,
): Promise<ReachableServer> {
  const servers = reachableServers(
    await discoverServers({ port: options.discoveryPort ?? DEFAULT_DISCOVERY_PORT }),
    options.udp === true ? 'udp' : 'tcp',
  );
  if (servers.length === 0) {
    throw new InvalidArgumentError(
      options.udp === true
        ? 'no lanchat server offering UDP answered on the local network: give its address, `lanchat connect --udp HOST[:PORT]`'
        : 'no lanchat server answered on the local network: give its address, `lanchat connect HOST[:PORT]`',
    );
  }
  const list = formatServerList(servers, (server) =>
    knownHosts.check(hostKeyOf(server), server.publicKey),
  );
  if (servers.length === 1) {
    if (interactive) process.stdout.write(`found ${list[0]!.trim()}\n`);
    return servers[0]!;
  }
  if (!interactive) {
    throw new InvalidArgumentError(
      `${servers.length} lanchat servers answered; name one: ${servers.map((server: ReachableServer) => server.target).join(', ')}`,
    );
  }
  process.stdout.write(`${list.join('\n')}\n`);
  const lines = createInterface({ input: process.stdin, output: process.stdout });
  try {
    for (;;) {
      const answer = await new Promise<string>((resolve) => {
        lines.question(`connect to which one (1-${servers.length})? `, resolve);
      });
      const index = Number(answer.trim()) - 1;
      const chosen = servers[index];
      if (Number.isInteger(index) && chosen !== undefined) return chosen;
    }
  } finally {
    lines.close();
  }
}

/**
 * The key a server proves in a TCP handshake on `server`'s port number; nothing is sent after it
 * (the key is "refused", so no login follows). `undefined` if no handshake completes in time.
 */
function keyOverTcp(server: ServerAddress, timeout: number): Promise<Uint8Array | undefined> {
  return new Promise((resolve) => {
    let key: Uint8Array | undefined;
    const probe = connectChat({
      host: server.host,
      port: server.port,
      login: {},
      reconnect: false,
      connectTimeout: timeout,
      verifyServerKey: (presented) => {
        key = presented;
        return false;
      },
      onEvent: () => undefined,
    });
    const timer = setTimeout(() => {
      probe.destroy();
    }, timeout);
    void probe.stopped.then(() => {
      clearTimeout(timer);
      resolve(key);
    });
  });
}

/** The key `server` gives when asked by LAN discovery (unicast to that host), if it serves UDP. */
async function keyByDiscovery(
  server: ServerAddress,
  discoveryPort: number,
  timeout: number,
  signal: AbortSignal,
): Promise<Uint8Array | undefined> {
  // Discovery runs over IPv4.
  if (server.family === 'ipv6') return undefined;
  const found = await discoverServers({
    hosts: [server.host],
    interfaces: [],
    port: discoveryPort,
    timeout,
    signal,
  });
  const offering = found.filter((entry) => entry.ports.udp === server.port);
  const match =
    offering.find((entry) => entry.addresses.includes(server.host)) ??
    (offering.length === 1 ? offering[0] : undefined);
  return match?.publicKey;
}

/**
 * The key to open a UDP session with (its handshake is keyed by the server's key, so it must be
 * known first): the first the server gives, asked at once by LAN discovery and by a TCP handshake
 * on the same port number, else the one pinned for that address. Whichever it is, it is checked
 * after the UDP handshake like a TCP server's: a new key is pinned and its fingerprint shown; a key
 * that differs from the pinned one is refused with both fingerprints unless --accept-new-key. (With
 * the pinned key alone, a server whose key changed would drop the handshake without a word.)
 * With a key pinned, the server gets half a second to answer; without, a few seconds.
 */
async function udpServerKey(
  server: ServerAddress,
  knownHosts: KnownHosts,
  options: ConnectOptions,
): Promise<Uint8Array> {
  const pinned = knownHosts.lookup(server.hostKey);
  const patience = pinned === undefined ? 2000 : 500;
  const discoveryPort = options.discoveryPort ?? DEFAULT_DISCOVERY_PORT;
  const stop = new AbortController();
  const first = await new Promise<Uint8Array | undefined>((resolve) => {
    let pending = 2;
    const take = (key: Uint8Array | undefined): void => {
      pending--;
      if (key !== undefined || pending === 0) resolve(key);
    };
    void keyByDiscovery(server, discoveryPort, patience, stop.signal).then(take, () => {
      take(undefined);
    });
    void keyOverTcp(server, pinned === undefined ? 3000 : 500).then(take);
  });
  stop.abort();
  if (first !== undefined) return first;
  if (pinned !== undefined) return pinned;
  throw new InvalidArgumentError(
    `${server.hostKey} did not give its key (asked over TCP, and by LAN discovery on UDP port ` +
      `${String(discoveryPort)}): over UDP the server's key must be known before connecting. ` +
      'Is the server running, with --udp?',
  );
}

/** What reads commands: the client app and the peer app. */
interface LineApp {
  handleLine(line: string): void;
  endOfInput(): void;
  quit(now?: boolean): void;
  readonly finished: Promise<number>;
}

/**
 * Feeds standard input (not a terminal) to `app` line by line. The end of input means goodbye,
 * once the transfers it started are over: a script's last command was its last word.
 */
function readLines(app: LineApp): void {
  const lines = createInterface({ input: process.stdin, terminal: false });
  lines.on('line', (line) => {
    app.handleLine(line);
  });
  lines.on('close', () => {
    app.endOfInput();
  });
  void app.finished.then(() => {
    lines.close();
  });
}

/** Leaves at once on SIGTERM (and SIGINT outside a terminal UI). Returns what undoes it. */
function quitOnSignals(app: LineApp, interactive: boolean): () => void {
  const onSignal = (): void => {
    app.quit(true);
  };
  process.on('SIGTERM', onSignal);
  if (!interactive) process.on('SIGINT', onSignal);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
}

async function connectCommand(
  address: string | undefined,
  options: ConnectOptions,
  json: boolean,
  sendFile?: { readonly to: string; readonly path: string },
): Promise<number> {
  const canAsk = !json && process.stdin.isTTY && process.stdout.isTTY;
  // A bad address is refused before the configuration directory is touched.
  const given = address === undefined ? undefined : parseServerAddress(address);
  const knownHosts = await openKnownHosts(options.configDir);
  const chosen = given === undefined ? await chooseServer(options, knownHosts, canAsk) : undefined;
  const server = given ?? parseServerAddress(chosen!.target);
  const udpKey =
    options.udp === true
      ? (chosen?.publicKey ?? (await udpServerKey(server, knownHosts, options)))
      : undefined;
  const interactive =
    sendFile === undefined && !json && process.stdin.isTTY && process.stdout.isTTY;
  // `lanchat send` on a terminal: a progress bar of its own on stderr.
  let sendBar: cliProgress.SingleBar | undefined;
  // With an account, the server names the session after it unless --name says otherwise.
  const nick = options.name ?? (options.user === undefined ? defaultNick() : undefined);
  // Asked before connecting, so that the prompt never fights the chat's input line. It is sent
  // only after the server's key has been checked.
  let password = process.env['LANCHAT_PASSWORD'] || undefined;
  if (options.user !== undefined && password === undefined && interactive) {
    password = await promptHidden(`password for ${options.user}: `);
  }
  let ui: TerminalUi | undefined;
  const print = (event: OutputEvent): void => {
    if (json) {
      process.stdout.write(jsonLine(event));
    } else if (ui !== undefined && event.event === 'closed') {
      // The last line: no prompt after it.
      ui.close();
      ui = undefined;
      process.stdout.write(`\r\u001b[2K${formatEvent(event, app.nick).join('\n')}\n`);
    } else if (ui !== undefined) {
      ui.progress(event);
      ui.print(formatEvent(event, app.nick));
    } else if (
      sendFile !== undefined &&
      process.stderr.isTTY &&
      event.event === 'transfer-progress'
    ) {
      sendBar ??= new cliProgress.SingleBar(
        {
          format: `${event.name} {bar} {percentage}% | {done} of {total_text} | {rate} | ETA {eta_formatted}`,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
      if (sendBar.getTotal() !== event.size) {
        sendBar.start(event.size, event.bytes, { done: '', total_text: '', rate: '' });
      }
      sendBar.update(event.bytes, {
        done: formatBytes(event.bytes),
        total_text: formatBytes(event.size),
        rate: `${formatBytes(event.rate)}/s`,
      });
    } else {
      if (sendBar !== undefined && event.event.startsWith('transfer-')) {
        sendBar.stop();
        sendBar = undefined;
      }
      const lines = formatEvent(event, app.nick);
      if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
    }
  };
  const app: ClientApp = new ClientApp({
    host: server.host,
    port: server.port,
    hostKey: formatHostKey(server.host, server.port),
    nick,
    user: options.user,
    password: () => Promise.resolve(password),
    knownHosts,
    acceptNewKey: options.acceptNewKey === true,
    rooms: options.room ?? [],
    output: print,
    reconnect: options.reconnect,
    downloadDir: options.downloadDir ?? defaultDownloadDir(),
    ...(options.acceptFiles === undefined ? {} : { acceptFiles: options.acceptFiles }),
    ...(sendFile === undefined ? {} : { sendFile }),
    ...(udpKey === undefined ? {} : { udp: { serverKey: udpKey } }),
  });
  app.start();
  if (interactive) {
    ui = new TerminalUi(process.stdin, process.stdout, () => {
      const where =
        app.chatPartner !== undefined
          ? `@${app.chatPartner}`
          : app.currentRoom === undefined
            ? ''
            : `#${app.currentRoom}`;
      return `${where}> `;
    });
    ui.start(
      (line) => {
        app.handleLine(line);
      },
      () => {
        app.quit(true);
      },
    );
  } else if (sendFile === undefined) {
    readLines(app);
  }
  const stopSignals = quitOnSignals(app, interactive);
  const code = await app.finished;
  sendBar?.stop();
  ui?.close();
  stopSignals();
  return code;
}

/**
 * `lanchat peer`: serverless mode. The identity key and the contacts live in the configuration
 * directory; the peer listens, dials, announces itself and looks for others on the LAN, and runs
 * the commands typed or piped.
 */
async function peerCommand(options: PeerOptions, json: boolean): Promise<number> {
  const nick = options.name ?? defaultNick();
  if (nick === undefined) {
    throw new InvalidArgumentError('your login name is not a valid nickname: give --name NICK');
  }
  const directory = await ensureConfigDir(resolveConfigDir(options.configDir));
  const identity = await loadOrCreateIdentity(directory, { fileName: PEER_IDENTITY_FILE_NAME });
  const contacts = await Contacts.open(path.join(directory, CONTACTS_FILE_NAME));
  const interactive = !json && process.stdin.isTTY && process.stdout.isTTY;
  let ui: TerminalUi | undefined;
  const print = (event: PeerOutputEvent): void => {
    if (json) {
      process.stdout.write(jsonLine(event));
      return;
    }
    const lines = formatPeerEvent(event, app.nick);
    if (ui !== undefined && event.event !== 'closed') {
      ui.progress(event as OutputEvent);
      ui.print(lines);
    } else if (lines.length > 0) {
      if (ui !== undefined) {
        ui.close();
        ui = undefined;
        process.stdout.write('\r\u001b[2K');
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    }
  };
  const app: PeerApp = new PeerApp({
    nick,
    keyPair: identity.keyPair,
    newIdentity: identity.created,
    listen:
      options.listen === false
        ? false
        : { port: options.listen, ...(options.bind === undefined ? {} : { host: options.bind }) },
    connect: options.connect ?? [],
    rooms: options.room ?? [],
    contacts,
    discovery: options.discovery
      ? { port: options.discoveryPort ?? DEFAULT_DISCOVERY_PORT }
      : false,
    output: print,
    downloadDir: options.downloadDir ?? defaultDownloadDir(),
    ...(options.acceptFiles === undefined ? {} : { acceptFiles: options.acceptFiles }),
    defaultPort: DEFAULT_PEER_PORT,
  });
  try {
    await app.start();
  } catch (error) {
    const message = (error as Error).message;
    print({ event: 'error', code: 'listen-failed', message: `cannot start the peer: ${message}` });
    return ExitCode.failure;
  }
  if (interactive) {
    ui = new TerminalUi(process.stdin, process.stdout, () => `#${app.currentRoom}> `);
    ui.start(
      (line) => {
        app.handleLine(line);
        ui?.refreshPrompt();
      },
      () => {
        app.quit(true);
      },
    );
  } else {
    readLines(app);
  }
  const stopSignals = quitOnSignals(app, interactive);
  const code = await app.finished;
  ui?.close();
  stopSignals();
  return code;
}

/** Builds the command-line program. */
export function createProgram(): Command {
  const program = new Command('lanchat')
    .description('Chat on a local network, encrypted, with no cloud.')
    .option('--json', 'scripting mode: commands from stdin, one JSON event per line on stdout')
    .showHelpAfterError()
    .exitOverride();
  program
    .command('connect')
    .description('connect to a lanchat server')
    .argument(
      '[host[:port]]',
      'the server, e.g. 192.168.1.10, lanchat.local:9999 or [fe80::1%eth0]:9999; without it, the servers LAN discovery finds are offered',
    )
    .option('--name <nick>', 'your nickname (default: your login name)', validated(checkNickname))
    .option(
      '--user <username>',
      'log in with an account (the password is asked, or read from LANCHAT_PASSWORD)',
      validated((value) => checkName('username', value)),
    )
    .option('--room <room>', 'also join this room (repeatable)', collectRoom)
    .option(
      '--accept-new-key',
      'accept a server key that differs from the pinned one (only if you know why it changed)',
    )
    .option('--config-dir <dir>', 'where known_hosts is kept (default: $XDG_CONFIG_HOME/lanchat)')
    .option('--no-reconnect', 'do not reconnect after a lost connection')
    .option('--accept-files <dir>', 'accept every file offered, into this folder (for scripts)')
    .option(
      '--download-dir <dir>',
      'where /accept saves files (default: $XDG_DOWNLOAD_DIR, ~/Downloads, or here)',
    )
    .option('--discovery-port <port>', 'UDP port of LAN discovery (default 9998)', parsePort)
    .option(
      '--udp',
      "connect over UDP (the server runs with --udp); the server's key is taken from known_hosts or asked by discovery",
    )
    .action(async (address: string | undefined, options: ConnectOptions) => {
      process.exitCode = await connectCommand(
        address,
        options,
        program.opts<{ json?: boolean }>().json === true,
      );
    });
  program
    .command('send')
    .description('send one file to a user and leave once it is done (exit 0) or failed (exit 1)')
    .argument('<host[:port]>', 'the server')
    .argument('<nick>', 'who gets the file', validated(checkNickname))
    .argument('<path>', 'the file')
    .option('--name <nick>', 'your nickname (default: your login name)', validated(checkNickname))
    .option(
      '--user <username>',
      'log in with an account (the password is asked, or read from LANCHAT_PASSWORD)',
      validated((value) => checkName('username', value)),
    )
    .option('--accept-new-key', 'accept a server key that differs from the pinned one')
    .option('--config-dir <dir>', 'where known_hosts is kept (default: $XDG_CONFIG_HOME/lanchat)')
    .option('--udp', 'send over UDP (the server runs with --udp)')
    .option('--discovery-port <port>', 'UDP port of LAN discovery (default 9998)', parsePort)
    .action(async (address: string, nick: string, file: string, options: ConnectOptions) => {
      process.exitCode = await connectCommand(
        address,
        { ...options, reconnect: true },
        program.opts<{ json?: boolean }>().json === true,
        { to: nick, path: file },
      );
    });
  program
    .command('peer')
    .description('chat without a server: every peer accepts and dials the others (a full mesh)')
    .option('--name <nick>', 'your nickname (default: your login name)', validated(checkNickname))
    .option(
      '--listen <port>',
      `accept peers on this TCP port (default ${DEFAULT_PEER_PORT}; 0 picks a free one)`,
      parsePort,
      DEFAULT_PEER_PORT,
    )
    .option('--no-listen', 'accept no peers: only dial (/host PORT starts later)')
    .option('--bind <address>', 'accept peers on this address only (default: every address)')
    .option(
      '--connect <host[:port]|name>',
      'dial this peer at start (repeatable); a contact by name, or HOST[:PORT]',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option('--room <room>', 'also join this room (repeatable)', collectRoom)
    .option(
      '--config-dir <dir>',
      'where the identity key and contacts are kept (default: $XDG_CONFIG_HOME/lanchat)',
    )
    .option('--accept-files <dir>', 'accept every file offered, into this folder (for scripts)')
    .option(
      '--download-dir <dir>',
      'where /accept saves files (default: $XDG_DOWNLOAD_DIR, ~/Downloads, or here)',
    )
    .option('--no-discovery', 'neither announce this peer nor look for others on the LAN')
    .option('--discovery-port <port>', 'UDP port of LAN discovery (default 9998)', parsePort)
    .action(async (options: PeerOptions) => {
      process.exitCode = await peerCommand(
        options,
        program.opts<{ json?: boolean }>().json === true,
      );
    });
  program
    .command('discover')
    .description('list the lanchat servers of the local network (exit 1 if none answers)')
    .argument('[host...]', 'also ask these hosts directly (servers multicast does not reach)')
    .option('--timeout <ms>', 'how long to wait for answers', parseTimeout, 2000)
    .option(
      '--discovery-port <port>',
      'UDP port of LAN discovery',
      parsePort,
      DEFAULT_DISCOVERY_PORT,
    )
    .option('--config-dir <dir>', 'where known_hosts is kept (default: $XDG_CONFIG_HOME/lanchat)')
    .action(async (hosts: string[], options: DiscoverOptions) => {
      process.exitCode = await discoverCommand(
        hosts,
        options,
        program.opts<{ json?: boolean }>().json === true,
      );
    });
  return program;
}

async function main(): Promise<void> {
  const program = createProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof Error && 'exitCode' in error && typeof error.exitCode === 'number') {
      // Commander has printed the problem (or the help) already.
      process.exitCode = error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
      return;
    }
    if (LanchatError.isInstance(error)) {
      process.stderr.write(`lanchat: ${error.message}\n`);
      process.exitCode = InvalidArgumentError.isInstance(error) ? ExitCode.usage : ExitCode.failure;
      return;
    }
    if (error instanceof Error && 'code' in error && typeof error.code === 'string') {
      // A system error (EACCES on the config directory...): its message names the path.
      process.stderr.write(`lanchat: ${error.message}\n`);
      process.exitCode = ExitCode.failure;
      return;
    }
    throw error;
  }
}

await main();
