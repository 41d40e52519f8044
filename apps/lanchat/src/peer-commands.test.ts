import { describe, expect, it } from 'vitest';
import { CommandError } from './commands.js';
import { PEER_COMMAND_HELP, parsePeerCommand } from './peer-commands.js';

describe('lanchat peer commands', () => {
  it("parses the original program's commands and the peer ones", () => {
    expect(parsePeerCommand('/host 7000')).toEqual({ kind: 'host', port: '7000' });
    expect(parsePeerCommand('/connect 192.168.1.5 7000')).toEqual({
      kind: 'connect',
      target: '192.168.1.5',
      port: '7000',
    });
    expect(parsePeerCommand('/connect 192.168.1.5:7000')).toEqual({
      kind: 'connect',
      target: '192.168.1.5:7000',
      port: undefined,
    });
    expect(parsePeerCommand('/connect alice')).toMatchObject({ target: 'alice' });
    expect(parsePeerCommand('/disconnect')).toEqual({ kind: 'disconnect', peer: undefined });
    expect(parsePeerCommand('/disconnect bob')).toEqual({ kind: 'disconnect', peer: 'bob' });
    expect(parsePeerCommand('/peers')).toEqual({ kind: 'peers' });
    expect(parsePeerCommand('/who')).toEqual({ kind: 'peers' });
    expect(parsePeerCommand('/contacts')).toEqual({ kind: 'contacts' });
    expect(parsePeerCommand('/forget bob')).toEqual({ kind: 'forget', name: 'bob' });
    expect(parsePeerCommand('/rooms')).toEqual({ kind: 'rooms' });
    expect(parsePeerCommand('/help')).toEqual({ kind: 'help' });
  });

  it("takes the client's commands and text as they are", () => {
    expect(parsePeerCommand('/nick anna')).toEqual({ kind: 'nick', nick: 'anna' });
    expect(parsePeerCommand('/msg bob hi there')).toEqual({
      kind: 'msg',
      nick: 'bob',
      text: 'hi there',
    });
    expect(parsePeerCommand('/send bob ~/a b.txt')).toEqual({
      kind: 'send',
      nick: 'bob',
      path: '~/a b.txt',
    });
    expect(parsePeerCommand('hello')).toEqual({ kind: 'say', text: 'hello' });
    expect(parsePeerCommand('//host is a word')).toEqual({ kind: 'say', text: '/host is a word' });
    expect(parsePeerCommand('bye')).toEqual({ kind: 'quit' });
  });

  it('refuses missing arguments with the usage, and what needs a server', () => {
    expect(() => parsePeerCommand('/host')).toThrow('usage: /host PORT');
    expect(() => parsePeerCommand('/connect')).toThrow('usage: /connect HOST PORT');
    expect(() => parsePeerCommand('/connect a b c')).toThrow(CommandError);
    expect(() => parsePeerCommand('/forget')).toThrow('usage: /forget NAME');
    expect(() => parsePeerCommand('/chat bob')).toThrow(/needs a server/);
    expect(() => parsePeerCommand('/away')).toThrow(/needs a server/);
    expect(() => parsePeerCommand('/frobnicate')).toThrow(/unknown command/);
  });

  it('has a help line for each command', () => {
    const names = PEER_COMMAND_HELP.map(([syntax]) => syntax.split(/\s/)[0]);
    for (const name of ['/host', '/connect', '/disconnect', '/nick', '/peers', '/msg', '/send']) {
      expect(names).toContain(name);
    }
  });
});
