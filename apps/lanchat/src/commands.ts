/**
 * The client's command language, the same in the terminal UI and in --json mode: a line is a
 * command (`/join games`), `bye`, or text for the current conversation.
 *
 * @module
 */

import { LanchatError } from '@lanchat/core';

/** A parsed input line. */
export type Command =
  | { readonly kind: 'help' }
  | { readonly kind: 'nick'; readonly nick: string }
  | { readonly kind: 'join'; readonly room: string }
  | { readonly kind: 'leave'; readonly room: string | undefined }
  | { readonly kind: 'rooms' }
  | { readonly kind: 'users'; readonly room: string | undefined }
  | { readonly kind: 'msg'; readonly nick: string; readonly text: string }
  | { readonly kind: 'chat'; readonly nick: string }
  | { readonly kind: 'decline'; readonly nick: string }
  | { readonly kind: 'end'; readonly nick: string | undefined }
  | { readonly kind: 'room'; readonly room: string }
  | { readonly kind: 'presence'; readonly presence: 'online' | 'away' | 'busy' }
  | { readonly kind: 'send'; readonly nick: string; readonly path: string }
  /** `/accept [ID] [DIR]`: `words` as typed, resolved by the app (an id prefix, a folder...). */
  | {
      readonly kind: 'accept';
      readonly first: string | undefined;
      readonly rest: string | undefined;
    }
  | { readonly kind: 'reject'; readonly transfer: string | undefined }
  | { readonly kind: 'transfers' }
  | { readonly kind: 'cancel'; readonly transfer: string }
  | { readonly kind: 'quit' }
  | { readonly kind: 'say'; readonly text: string }
  | { readonly kind: 'nothing' };

/** A line that is not a valid command: `message` says why and how to write it. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
}

/** One line of help per command, in the order `/help` shows them. */
export const COMMAND_HELP: readonly (readonly [string, string])[] = [
  ['/help', 'show this help'],
  ['/nick NAME', 'change your nickname'],
  ['/join ROOM', 'join a room (created if need be) and talk there'],
  ['/leave [ROOM]', 'leave a room (default: the current one)'],
  ['/room ROOM', 'talk in another room you are in'],
  ['/rooms', 'list the rooms'],
  ['/users [ROOM]', 'list the users (of a room)'],
  ['/msg NICK TEXT', 'send a private message'],
  ['/chat NICK', 'ask NICK for a private chat, or accept theirs'],
  ['/decline NICK', "decline NICK's chat request"],
  ['/end [NICK]', 'end a private chat'],
  ['/away, /busy, /back', 'set your presence (away, busy, or back online)'],
  ['/send NICK PATH', 'offer the file at PATH to NICK'],
  ['/accept [ID] [DIR]', 'take a file offered to you (the latest), into DIR or your downloads'],
  ['/reject [ID]', 'refuse a file offered to you (the latest)'],
  ['/transfers', 'list file transfers'],
  ['/cancel ID', 'stop a file transfer'],
  ['/quit or bye', 'say goodbye and leave'],
  ['TEXT', 'talk in the current room, or in the private chat you are in'],
];

/** Other names of commands, by the name their help line starts with. */
const ALIASES: Readonly<Record<string, string>> = {
  '?': 'help',
  part: 'leave',
  who: 'users',
  busy: 'away',
  back: 'away',
  exit: 'quit',
  bye: 'quit',
};

function usage(name: string): CommandError {
  const canonical = ALIASES[name] ?? name;
  const line = COMMAND_HELP.find(([syntax]) => syntax.split(/[\s,]/)[0] === `/${canonical}`);
  return new CommandError(
    line === undefined ? `unknown command /${name}; try /help` : `usage: ${line[0]}`,
  );
}

/**
 * Parses an input line.
 *
 * @throws {@link CommandError} for an unknown command or missing arguments (the message shows the
 * usage).
 */
export function parseCommand(line: string): Command {
  const trimmed = line.trim();
  if (trimmed.length === 0) return { kind: 'nothing' };
  if (trimmed.toLowerCase() === 'bye') return { kind: 'quit' };
  // "//text" sends "/text" as a message.
  if (trimmed.startsWith('//')) return { kind: 'say', text: line.trimEnd().replace(/^\s*\//, '') };
  if (!trimmed.startsWith('/')) return { kind: 'say', text: line.trimEnd() };
  const match = /^\/(\S+)\s*(.*)$/s.exec(trimmed);
  const name = (match?.[1] ?? '').toLowerCase();
  const rest = match?.[2] ?? '';
  const words = rest.length === 0 ? [] : rest.split(/\s+/);
  const one = (): string => {
    if (words.length !== 1) throw usage(name);
    return words[0]!;
  };
  const optional = (): string | undefined => {
    if (words.length > 1) throw usage(name);
    return words[0];
  };
  switch (name) {
    case 'help':
    case '?':
      return { kind: 'help' };
    case 'nick':
      return { kind: 'nick', nick: one() };
    case 'join':
      return { kind: 'join', room: one() };
    case 'leave':
    case 'part':
      return { kind: 'leave', room: optional() };
    case 'room':
      return { kind: 'room', room: one() };
    case 'rooms':
      if (words.length > 0) throw usage(name);
      return { kind: 'rooms' };
    case 'users':
    case 'who':
      return { kind: 'users', room: optional() };
    case 'msg': {
      const split = /^(\S+)\s+(.+)$/s.exec(rest);
      if (split === null) throw usage(name);
      return { kind: 'msg', nick: split[1]!, text: split[2]! };
    }
    case 'chat':
      return { kind: 'chat', nick: one() };
    case 'send': {
      const split = /^(\S+)\s+(.+)$/s.exec(rest);
      if (split === null) throw usage(name);
      return { kind: 'send', nick: split[1]!, path: split[2]!.trim() };
    }
    case 'accept': {
      // A folder may hold spaces: everything after the first word.
      const split = /^(\S+)(?:\s+(.+))?$/s.exec(rest);
      return {
        kind: 'accept',
        first: split?.[1],
        rest: split?.[2]?.trim(),
      };
    }
    case 'reject':
      return { kind: 'reject', transfer: optional() };
    case 'transfers':
      if (words.length > 0) throw usage(name);
      return { kind: 'transfers' };
    case 'cancel':
      return { kind: 'cancel', transfer: one() };
    case 'decline':
      return { kind: 'decline', nick: one() };
    case 'end':
      return { kind: 'end', nick: optional() };
    case 'away':
    case 'busy':
      if (words.length > 0) throw usage(name);
      return { kind: 'presence', presence: name };
    case 'back':
      if (words.length > 0) throw usage(name);
      return { kind: 'presence', presence: 'online' };
    case 'quit':
    case 'exit':
    case 'bye':
      return { kind: 'quit' };
    default:
      throw usage(name);
  }
}

/**
 * Parses and runs one input line. A line that does not parse becomes `error('bad-command', ...)`;
 * a typed lanchat error thrown by `run` becomes `error` with its `code` (or its name) and message,
 * unless `describe` words it otherwise. Other errors are thrown.
 */
export function runLine<C>(
  line: string,
  parse: (line: string) => C,
  run: (command: C) => void,
  error: (code: string, message: string) => void,
  describe: (caught: LanchatError) => readonly [string, string] | undefined = () => undefined,
): void {
  let command: C;
  try {
    command = parse(line);
  } catch (caught) {
    if (caught instanceof CommandError) {
      error('bad-command', caught.message);
      return;
    }
    throw caught;
  }
  try {
    run(command);
  } catch (caught) {
    if (!LanchatError.isInstance(caught)) throw caught;
    const [code, message] = describe(caught) ?? [
      (caught as LanchatError & { code?: string }).code ?? caught.name,
      caught.message,
    ];
    error(code, message);
  }
}
