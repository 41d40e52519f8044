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
  InvalidArgumentError,
  LanchatError,
  checkName,
  checkNickname,
  checkRoomName,
} from '@lanchat/core';
import { formatHostKey, parseServerAddress } from './address.js';
import { ClientApp, ExitCode, type OutputEvent } from './client-app.js';
import { ensureConfigDir, resolveConfigDir } from './config-dir.js';
import { KNOWN_HOSTS_FILE_NAME, KnownHosts } from './known-hosts.js';
import { promptHidden } from '@lanchat/app-support';
import { formatBytes } from './progress.js';
import { TerminalUi, formatEvent } from './terminal-ui.js';

interface ConnectOptions {
  readonly name?: string;
  readonly user?: string;
  readonly room?: string[];
  readonly acceptNewKey?: boolean;
  readonly configDir?: string;
  readonly reconnect: boolean;
  readonly acceptFiles?: string;
  readonly downloadDir?: string;
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

function jsonLine(event: OutputEvent): string {
  return `${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`;
}

async function connectCommand(
  address: string,
  options: ConnectOptions,
  json: boolean,
  sendFile?: { readonly to: string; readonly path: string },
): Promise<number> {
  const server = parseServerAddress(address);
  const configDir = await ensureConfigDir(resolveConfigDir(options.configDir));
  const knownHosts = await KnownHosts.open(path.join(configDir, KNOWN_HOSTS_FILE_NAME));
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
    const lines = createInterface({ input: process.stdin, terminal: false });
    lines.on('line', (line) => {
      app.handleLine(line);
    });
    // End of input means goodbye, once the transfers it started are over: a script's last
    // command was its last word.
    lines.on('close', () => {
      app.endOfInput();
    });
    void app.finished.then(() => {
      lines.close();
    });
  }
  const onSignal = (): void => {
    app.quit(true);
  };
  process.on('SIGTERM', onSignal);
  if (!interactive) process.on('SIGINT', onSignal);
  const code = await app.finished;
  sendBar?.stop();
  ui?.close();
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
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
      '<host[:port]>',
      'the server, e.g. 192.168.1.10, lanchat.local:9999 or [fe80::1%eth0]:9999',
    )
    .option('--name <nick>', 'your nickname (default: your login name)', validated(checkNickname))
    .option(
      '--user <username>',
      'log in with an account (the password is asked, or read from LANCHAT_PASSWORD)',
      validated((value) => checkName('username', value)),
    )
    .option(
      '--room <room>',
      'also join this room (repeatable)',
      (value: string, previous: string[] | undefined) => [
        ...(previous ?? []),
        validated(checkRoomName)(value),
      ],
    )
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
    .action(async (address: string, options: ConnectOptions) => {
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
    .action(async (address: string, nick: string, file: string, options: ConnectOptions) => {
      process.exitCode = await connectCommand(
        address,
        { ...options, reconnect: true },
        program.opts<{ json?: boolean }>().json === true,
        { to: nick, path: file },
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
