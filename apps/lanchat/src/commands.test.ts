import { describe, expect, it } from 'vitest';
import { CommandError, parseCommand } from './commands.js';

describe('parseCommand', () => {
  it.each([
    ['hello there', { kind: 'say', text: 'hello there' }],
    ['  indented text  ', { kind: 'say', text: '  indented text' }],
    ['//slash at start', { kind: 'say', text: '/slash at start' }],
    ['', { kind: 'nothing' }],
    ['bye', { kind: 'quit' }],
    ['BYE', { kind: 'quit' }],
    ['/quit', { kind: 'quit' }],
    ['/help', { kind: 'help' }],
    ['/nick alicia', { kind: 'nick', nick: 'alicia' }],
    ['/join #games', { kind: 'join', room: '#games' }],
    ['/leave', { kind: 'leave', room: undefined }],
    ['/part games', { kind: 'leave', room: 'games' }],
    ['/users', { kind: 'users', room: undefined }],
    ['/who lobby', { kind: 'users', room: 'lobby' }],
    ['/msg bob see you  at 10', { kind: 'msg', nick: 'bob', text: 'see you  at 10' }],
    ['/chat bob', { kind: 'chat', nick: 'bob' }],
    ['/accept', { kind: 'accept', first: undefined, rest: undefined }],
    ['/accept 3fa9', { kind: 'accept', first: '3fa9', rest: undefined }],
    ['/accept 3fa9 My Downloads/', { kind: 'accept', first: '3fa9', rest: 'My Downloads/' }],
    ['/send bob ~/photos/cat 1.jpg', { kind: 'send', nick: 'bob', path: '~/photos/cat 1.jpg' }],
    ['/reject', { kind: 'reject', transfer: undefined }],
    ['/transfers', { kind: 'transfers' }],
    ['/cancel 3fa9', { kind: 'cancel', transfer: '3fa9' }],
    ['/decline bob', { kind: 'decline', nick: 'bob' }],
    ['/end', { kind: 'end', nick: undefined }],
    ['/away', { kind: 'presence', presence: 'away' }],
    ['/back', { kind: 'presence', presence: 'online' }],
    ['/ROOMS', { kind: 'rooms' }],
  ])('%j', (line, command) => {
    expect(parseCommand(line)).toEqual(command);
  });

  it.each([
    ['/nick', 'usage: /nick NAME'],
    ['/nick two words', 'usage: /nick NAME'],
    ['/msg bob', 'usage: /msg NICK TEXT'],
    ['/send bob', 'usage: /send NICK PATH'],
    ['/cancel', 'usage: /cancel ID'],
    ['/transfers now', 'usage: /transfers'],
    ['/part a b', 'usage: /leave [ROOM]'],
    ['/who a b', 'usage: /users [ROOM]'],
    ['/busy now', 'usage: /away, /busy, /back'],
    ['/user', 'unknown command /user; try /help'],
    ['/frobnicate', 'unknown command /frobnicate; try /help'],
  ])('%j is refused: %s', (line, message) => {
    expect(() => parseCommand(line)).toThrow(new CommandError(message));
  });
});
