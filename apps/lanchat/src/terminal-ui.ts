/**
 * The interactive terminal UI: the transcript scrolls above, the input line stays below, and an
 * incoming message never breaks what the user is typing (the line is cleared, the message
 * printed, the prompt and the typed text drawn again).
 *
 * @module
 */

import { type Interface, createInterface } from 'node:readline';
import pc from 'picocolors';
import type { OutputEvent } from './client-app.js';
import { ProgressBars, formatBytes, formatDuration } from './progress.js';

/** Makes text from the network safe for a terminal: control characters shown, never obeyed. */
export function sanitizeForTerminal(text: string): string {
  return text.replace(
    // eslint-disable-next-line no-control-regex -- replacing control characters is the point
    /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/gu,
    (character) => {
      const code = character.codePointAt(0) ?? 0;
      return `\\u{${code.toString(16)}}`;
    },
  );
}

export function clock(time: number = Date.now()): string {
  const date = new Date(time);
  return pc.dim(
    `${String(date.getHours()).padStart(2, '0')}:${String(date.getMinutes()).padStart(2, '0')}`,
  );
}

const NICK_COLOURS = [pc.cyan, pc.green, pc.yellow, pc.magenta, pc.blue, pc.red] as const;

export function nickColour(nick: string): string {
  let hash = 0;
  for (const character of nick.toLowerCase())
    hash = (hash * 31 + (character.codePointAt(0) ?? 0)) >>> 0;
  const colour = NICK_COLOURS[hash % NICK_COLOURS.length] ?? pc.cyan;
  return colour(pc.bold(sanitizeForTerminal(nick)));
}

export function notice(text: string): string {
  return `${clock()} ${pc.dim('--')} ${text}`;
}

/** Formats an event as transcript lines (none for events the transcript does not show). */
export function formatEvent(event: OutputEvent, self: string | undefined): string[] {
  const text = (value: string): string => sanitizeForTerminal(value).replace(/\n/g, '\n      ');
  switch (event.event) {
    case 'connecting':
      return [
        notice(
          `connecting to ${event.host}:${event.port}${event.transport === 'udp' ? ' over UDP' : ''}...`,
        ),
      ];
    case 'server-key':
      return event.status === 'new'
        ? [
            notice(
              `server key ${pc.bold(event.fingerprint)} (first connection: pinned; compare it with the server's)`,
            ),
          ]
        : event.status === 'replaced'
          ? [
              notice(
                pc.yellow(
                  `server key replaced: was ${event.previousFingerprint ?? '?'}, now ${event.fingerprint}`,
                ),
              ),
            ]
          : [notice(`server key ${event.fingerprint} matches the pinned one`)];
    case 'connected':
      return [
        notice(
          `${pc.green('connected')} to ${pc.bold(sanitizeForTerminal(event.server))} as ${nickColour(event.nick)}` +
            ` in ${event.rooms.map((room) => `#${room}`).join(', ')}. Type /help for commands.`,
        ),
      ];
    case 'reconnecting':
      return [
        notice(
          pc.yellow(
            `connection lost (${event.reason}); reconnecting in ${(event.delay / 1000).toFixed(1)} s...`,
          ),
        ),
      ];
    case 'reconnected':
      return [
        notice(
          pc.green(
            `reconnected as ${event.nick}, back in ${event.rooms.map((room) => `#${room}`).join(', ')}`,
          ),
        ),
      ];
    case 'message':
      return [
        `${clock(event.ts)} ${pc.dim(`#${event.room}`)} ${nickColour(event.from)}: ${text(event.text)}`,
      ];
    case 'private-message':
      return [
        `${clock(event.ts)} ${pc.magenta(event.chat ? '[chat]' : '[private]')} ${nickColour(event.from)}: ${text(event.text)}`,
      ];
    case 'sent':
      return [
        `${clock()} ${event.room === undefined ? pc.magenta(`[${event.chat === true ? 'chat' : 'private'} to ${sanitizeForTerminal(event.to ?? '')}]`) : pc.dim(`#${event.room}`)} ${nickColour(self ?? 'me')}: ${text(event.text)}`,
      ];
    case 'delivered':
      return [];
    case 'joined':
      return [
        notice(
          `you joined #${event.room} (${event.members.length} here: ${event.members.map(sanitizeForTerminal).join(', ')})`,
        ),
      ];
    case 'left':
      return [notice(`you left #${event.room}`)];
    case 'room-changed':
      return [notice(`now talking in #${event.room}`)];
    case 'user-joined':
      return [notice(`${nickColour(event.nick)} joined #${event.room}`)];
    case 'user-left':
      return [notice(`${nickColour(event.nick)} left #${event.room} (${event.reason})`)];
    case 'user-connected':
      return [];
    case 'user-disconnected':
      return [notice(`${nickColour(event.nick)} disconnected (${event.reason})`)];
    case 'nick-changed':
      return [
        notice(
          `${event.self ? 'you are' : `${nickColour(event.old)} is`} now known as ${nickColour(event.nick)}`,
        ),
      ];
    case 'presence-changed':
      return [notice(`${nickColour(event.nick)} is ${event.presence}`)];
    case 'rooms':
      return [
        notice(
          `rooms: ${event.rooms.map((room) => `#${room.name} (${room.members})`).join(', ') || 'none'}`,
        ),
      ];
    case 'users':
      return [
        notice(
          `${event.room === undefined ? 'users' : `users in #${event.room}`}: ` +
            event.users
              .map(
                (user) =>
                  `${nickColour(user.nick)}${user.presence === 'online' ? '' : pc.dim(` (${user.presence})`)}`,
              )
              .join(', ') +
            (event.more > 0 ? ` and ${event.more} more` : ''),
        ),
      ];
    case 'chat-request':
      return [
        notice(
          pc.magenta(
            `${sanitizeForTerminal(event.nick)} asks to chat with you: /chat ${event.nick} to accept, /decline ${event.nick} to decline`,
          ),
        ),
      ];
    case 'chat-started':
      return [
        notice(
          pc.magenta(
            `you may chat with ${sanitizeForTerminal(event.nick)} now; what you type goes to them only. /end to stop`,
          ),
        ),
      ];
    case 'chat-declined':
      return [notice(`${nickColour(event.nick)} declined your chat request`)];
    case 'chat-ended':
      return [
        notice(
          pc.magenta(
            `the private chat with ${sanitizeForTerminal(event.nick)} ended${event.by === event.nick ? ` (by ${sanitizeForTerminal(event.by)})` : ''}`,
          ),
        ),
      ];
    case 'server-shutdown':
      return [notice(pc.yellow(`the server is shutting down: ${text(event.message)}`))];
    case 'help':
      return [
        pc.bold('commands:'),
        ...event.commands.map(([syntax, help]) => `  ${pc.cyan(syntax.padEnd(22))} ${help}`),
      ];
    case 'transfer-offered':
      return [
        notice(
          pc.magenta(
            `${sanitizeForTerminal(event.peer)} offers you ${pc.bold(text(event.name))} (${formatBytes(event.size)}), ` +
              `id ${event.id}: /accept ${event.id} [FOLDER] to take it, /reject ${event.id} to refuse`,
          ),
        ),
      ];
    case 'transfer-sending':
      return [
        notice(
          `offering ${pc.bold(text(event.name))} (${formatBytes(event.size)}) to ${nickColour(event.peer)}, ` +
            `id ${event.id}; waiting for them to accept`,
        ),
      ];
    case 'transfer-accepted':
      return [
        notice(
          event.direction === 'incoming'
            ? `receiving ${pc.bold(text(event.name))} from ${nickColour(event.peer)} into ${text(event.folder ?? '.')}`
            : `${nickColour(event.peer)} accepted ${pc.bold(text(event.name))}` +
                (event.offset > 0 ? `; resuming after ${formatBytes(event.offset)}` : ''),
        ),
      ];
    case 'transfer-progress':
      return [];
    case 'transfer-interrupted':
      return [
        notice(
          pc.yellow(
            `the transfer of ${text(event.name)} with ${sanitizeForTerminal(event.peer)} is interrupted; ` +
              'it resumes when both of you are back',
          ),
        ),
      ];
    case 'transfer-completed':
      return [
        notice(
          pc.green(
            (event.direction === 'incoming'
              ? `received ${pc.bold(text(event.name))} from ${sanitizeForTerminal(event.peer)}, saved as ${text(event.path ?? '?')}`
              : `sent ${pc.bold(text(event.name))} to ${sanitizeForTerminal(event.peer)}`) +
              `: ${formatBytes(event.size)} in ${formatDuration(event.seconds)}, ${formatBytes(event.rate)}/s, SHA-256 ${event.sha256}`,
          ),
        ),
      ];
    case 'transfer-failed':
      return [
        `${clock()} ${pc.red('error')} the transfer of ${text(event.name)} with ${sanitizeForTerminal(event.peer)} failed: ` +
          `${text(event.message)} (${event.code})`,
      ];
    case 'transfers':
      return event.transfers.length === 0
        ? [notice('no file transfers')]
        : [
            notice('file transfers:'),
            ...event.transfers.map(
              (entry) =>
                `      ${entry.id} ${entry.direction === 'incoming' ? 'from' : 'to'} ${sanitizeForTerminal(entry.peer)}: ` +
                `${text(entry.name)}, ${formatBytes(entry.bytes)} of ${formatBytes(entry.size)}, ${entry.state}`,
            ),
          ];
    case 'error':
      return [`${clock()} ${pc.red('error')} ${text(event.message)}`];
    case 'closed':
      return [notice(event.exitCode === 0 ? 'bye!' : pc.red(`disconnected (${event.reason})`))];
  }
}

/**
 * The terminal UI over readline. `prompt()` tells what to show before the input line.
 */
export class TerminalUi {
  readonly #readline: Interface;
  readonly #prompt: () => string;
  readonly #output: NodeJS.WriteStream;
  readonly #bars = new ProgressBars();

  constructor(input: NodeJS.ReadStream, output: NodeJS.WriteStream, prompt: () => string) {
    this.#output = output;
    // File transfers going show their progress bar in front of the prompt.
    this.#prompt = () => `${pc.cyan(this.#bars.status())}${prompt()}`;
    this.#readline = createInterface({ input, output, terminal: true, historySize: 200 });
    this.#readline.setPrompt(prompt());
  }

  /** Calls `onLine` for each line typed, and `onClose` on Ctrl-D / Ctrl-C. */
  start(onLine: (line: string) => void, onClose: () => void): void {
    this.#readline.on('line', (line) => {
      // The transcript shows what was sent, formatted: erase the raw echo of the typed line.
      this.#output.write('\u001b[1A\u001b[2K\r');
      onLine(line);
      this.refreshPrompt();
    });
    this.#readline.on('SIGINT', onClose);
    this.#readline.on('close', onClose);
    this.#readline.prompt();
  }

  /** Prints transcript lines above the input line, which keeps what the user was typing. */
  print(lines: readonly string[]): void {
    if (lines.length === 0) return;
    this.#output.write('\r\u001b[2K');
    this.#output.write(`${lines.join('\n')}\n`);
    this.#readline.setPrompt(this.#prompt());
    this.#readline.prompt(true);
  }

  /** Takes a transfer event for the progress bars; redraws the prompt if they changed. */
  progress(event: OutputEvent): void {
    if (this.#bars.handle(event)) this.refreshPrompt();
  }

  /** Draws the prompt again (after the current room changed). */
  refreshPrompt(): void {
    this.#readline.setPrompt(this.#prompt());
    this.#readline.prompt(true);
  }

  /** Stops reading; removes readline's listeners. */
  close(): void {
    this.#bars.stopAll();
    this.#readline.removeAllListeners();
    this.#readline.close();
  }
}
