/**
 * `lanchat peer`'s command language: the client's (`/msg`, `/send`, `/join`...) and the original
 * peer program's (`/host PORT`, `/connect HOST PORT`, `/disconnect`), plus `/peers`, `/contacts`
 * and `/forget`.
 *
 * @module
 */

import { type Command, CommandError, parseCommand } from './commands.js';

/** A parsed input line of `lanchat peer`. */
export type PeerCommand =
  | Exclude<Command, { kind: 'rooms' | 'users' | 'chat' | 'decline' | 'end' | 'presence' | 'help' }>
  | { readonly kind: 'help' }
  | { readonly kind: 'host'; readonly port: string }
  /** `/connect HOST PORT`, `/connect HOST:PORT` or `/connect NAME` (a contact). */
  | { readonly kind: 'connect'; readonly target: string; readonly port: string | undefined }
  | { readonly kind: 'disconnect'; readonly peer: string | undefined }
  | { readonly kind: 'peers' }
  | { readonly kind: 'rooms' }
  | { readonly kind: 'contacts' }
  | { readonly kind: 'forget'; readonly name: string };

/** One line of help per command of `lanchat peer`, in the order `/help` shows them. */
export const PEER_COMMAND_HELP: readonly (readonly [string, string])[] = [
  ['/help', 'show this help'],
  ['/host PORT', 'accept peers on PORT (when started with --no-listen)'],
  ['/connect HOST PORT', 'connect to the peer at HOST:PORT (or /connect HOST:PORT)'],
  ['/connect NAME', 'connect to a contact (see /contacts)'],
  ['/disconnect [NAME]', 'hang up on one peer; without NAME, leave the mesh'],
  ['/peers', 'list the peers: connected, being dialled again, away'],
  ['/contacts', 'list the peers seen before'],
  ['/forget NAME', 'forget a contact and its pinned key'],
  ['/nick NAME', 'change your nickname (refused if a peer has it)'],
  ['/join ROOM', 'join a room and talk there'],
  ['/leave [ROOM]', 'leave a room (default: the current one)'],
  ['/room ROOM', 'talk in another room you are in'],
  ['/rooms', 'list the rooms of the mesh'],
  ['/msg NICK TEXT', 'send a private message'],
  ['/send NICK PATH', 'send the file at PATH straight to NICK'],
  ['/accept [ID] [DIR]', 'take a file offered to you (the latest), into DIR or your downloads'],
  ['/reject [ID]', 'refuse a file offered to you (the latest)'],
  ['/transfers', 'list file transfers'],
  ['/cancel ID', 'stop a file transfer'],
  ['/quit or bye', 'leave the mesh and quit'],
  ['TEXT', 'talk in the current room'],
];

function usage(name: string): CommandError {
  const line = PEER_COMMAND_HELP.find(([syntax]) => syntax.split(/\s/)[0] === `/${name}`);
  return new CommandError(
    line === undefined ? `unknown command /${name}; try /help` : `usage: ${line[0]}`,
  );
}

/**
 * Parses an input line of `lanchat peer`.
 *
 * @throws `CommandError` for an unknown command, one `lanchat peer` has not (a server's), or
 * missing arguments.
 */
export function parsePeerCommand(line: string): PeerCommand {
  const match = /^\s*\/(\S+)\s*(.*)$/s.exec(line);
  if (match !== null && !line.trim().startsWith('//')) {
    const name = match[1]!.toLowerCase();
    const words = match[2]!.trim().length === 0 ? [] : match[2]!.trim().split(/\s+/);
    switch (name) {
      case 'help':
      case '?':
        return { kind: 'help' };
      case 'host':
        if (words.length !== 1) throw usage('host');
        return { kind: 'host', port: words[0]! };
      case 'connect':
        if (words.length < 1 || words.length > 2) throw usage('connect');
        return { kind: 'connect', target: words[0]!, port: words[1] };
      case 'disconnect':
        if (words.length > 1) throw usage('disconnect');
        return { kind: 'disconnect', peer: words[0] };
      case 'peers':
      case 'users':
      case 'who':
        if (words.length > 0) throw usage('peers');
        return { kind: 'peers' };
      case 'rooms':
        if (words.length > 0) throw usage('rooms');
        return { kind: 'rooms' };
      case 'contacts':
        if (words.length > 0) throw usage('contacts');
        return { kind: 'contacts' };
      case 'forget':
        if (words.length !== 1) throw usage('forget');
        return { kind: 'forget', name: words[0]! };
      case 'chat':
      case 'decline':
      case 'end':
      case 'away':
      case 'busy':
      case 'back':
        throw new CommandError(
          `/${name} needs a server; between peers, /msg NICK TEXT sends a private message`,
        );
      default:
        break;
    }
  }
  const command = parseCommand(line);
  switch (command.kind) {
    case 'rooms':
    case 'users':
    case 'chat':
    case 'decline':
    case 'end':
    case 'presence':
      // Handled above; the client's parser has no other way to these.
      throw new CommandError('not available between peers');
    default:
      return command;
  }
}
