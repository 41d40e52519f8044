/**
 * Discovery and the chat between two network namespaces joined by a veth pair: two hosts on one
 * LAN, as far as the kernel is concerned, with their own interfaces, addresses, routes and ports.
 * Multicast and broadcast leave one host by its interface and reach the other; nothing goes
 * through loopback. The server runs on its real default ports (9999, discovery 9998) inside its
 * namespace.
 *
 * It needs root and iproute2 (`ip netns`); the machines that run CI have both. Where they are
 * missing the tests say so and do not run ("where the machine allows", in the issue).
 */

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_CLI, JsonProcess, SERVER_CLI, TestResources } from './processes.js';

const resources = new TestResources();
const tag = `lc${process.pid % 100_000}`;
const serverNs = `${tag}-srv`;
const clientNs = `${tag}-cli`;

function ip(...args: string[]): boolean {
  return spawnSync('ip', args, { stdio: 'ignore' }).status === 0;
}

/** Whether network namespaces can be made here: tried once, with a namespace made and removed. */
function netnsAvailable(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  const probe = `${tag}-probe`;
  if (!ip('netns', 'add', probe)) return false;
  ip('netns', 'del', probe);
  return true;
}

const available = netnsAvailable();
if (!available) {
  process.stderr.write('netns tests not run: they need root and `ip netns` (iproute2)\n');
}

describe.runIf(available)('two hosts on one LAN (network namespaces joined by a veth pair)', () => {
  beforeAll(() => {
    const steps: string[][] = [
      ['netns', 'add', serverNs],
      ['netns', 'add', clientNs],
      ['link', 'add', `${tag}a`, 'type', 'veth', 'peer', 'name', `${tag}b`],
      ['link', 'set', `${tag}a`, 'netns', serverNs],
      ['link', 'set', `${tag}b`, 'netns', clientNs],
      ['-n', serverNs, 'addr', 'add', '10.201.7.1/24', 'dev', `${tag}a`],
      ['-n', clientNs, 'addr', 'add', '10.201.7.2/24', 'dev', `${tag}b`],
      ['-n', serverNs, 'link', 'set', `${tag}a`, 'up'],
      ['-n', clientNs, 'link', 'set', `${tag}b`, 'up'],
      ['-n', serverNs, 'link', 'set', 'lo', 'up'],
      ['-n', clientNs, 'link', 'set', 'lo', 'up'],
    ];
    for (const step of steps) {
      if (!ip(...step)) throw new Error(`ip ${step.join(' ')} failed`);
    }
  });

  afterAll(async () => {
    await resources.cleanUp();
    // Removing a namespace removes its end of the veth pair, and with it the other end.
    ip('netns', 'del', serverNs);
    ip('netns', 'del', clientNs);
  });

  it('lanchat discover on one host finds the server on the other; connect without an address reaches it over TCP and over UDP', async () => {
    const workspace = await resources.workspace();
    const server = resources.track(
      new JsonProcess(
        SERVER_CLI,
        ['--json', '--data-dir', path.join(workspace, 'server'), '--name', 'Lab 7', '--udp'],
        {},
        ['ip', 'netns', 'exec', serverNs],
      ),
    );
    const listening = await server.waitFor('listening');
    expect(listening['port']).toBe(9999);
    const fingerprint = listening['fingerprint'] as string;
    await server.waitFor('discovery');
    const inClientNs = ['ip', 'netns', 'exec', clientNs];

    const discover = resources.track(
      new JsonProcess(
        CLIENT_CLI,
        ['--json', 'discover', '--config-dir', path.join(workspace, 'd')],
        {},
        inClientNs,
      ),
    );
    expect(await discover.waitFor('server-found')).toMatchObject({
      name: 'Lab 7',
      host: '10.201.7.1',
      port: 9999,
      fingerprint,
      key: 'new',
    });
    expect(await discover.exited).toBe(0);

    const tcp = resources.track(
      new JsonProcess(
        CLIENT_CLI,
        ['--json', 'connect', '--name', 'tom', '--config-dir', path.join(workspace, 'tom')],
        {},
        inClientNs,
      ),
    );
    expect(await tcp.waitFor('connecting')).toMatchObject({
      host: '10.201.7.1',
      port: 9999,
      transport: 'tcp',
    });
    await tcp.waitFor('connected');
    const udp = resources.track(
      new JsonProcess(
        CLIENT_CLI,
        [
          '--json',
          'connect',
          '--udp',
          '--name',
          'uma',
          '--config-dir',
          path.join(workspace, 'uma'),
        ],
        {},
        inClientNs,
      ),
    );
    expect(await udp.waitFor('connecting')).toMatchObject({
      host: '10.201.7.1',
      port: 9999,
      transport: 'udp',
    });
    expect(await udp.waitFor('server-key')).toMatchObject({ status: 'new', fingerprint });
    await udp.waitFor('connected');
    tcp.send('across the LAN');
    expect(await udp.waitFor('message')).toMatchObject({ from: 'tom', text: 'across the LAN' });
  });

  it('two lanchat peers, one on each host, find each other by LAN discovery and chat, with no address given', async () => {
    const workspace = await resources.workspace();
    const peer = (namespace: string, name: string): JsonProcess =>
      resources.track(
        new JsonProcess(
          CLIENT_CLI,
          ['--json', 'peer', '--name', name, '--config-dir', path.join(workspace, name)],
          {},
          ['ip', 'netns', 'exec', namespace],
        ),
      );
    const ann = peer(serverNs, 'ann');
    expect(await ann.waitFor('started')).toMatchObject({ port: 9997 });
    await ann.waitFor('discovery');
    const bob = peer(clientNs, 'bob');
    expect(await bob.waitFor('peer-discovered')).toMatchObject({
      nick: 'ann',
      host: '10.201.7.1',
      port: 9997,
      via: 'discovery',
    });
    // Either may dial: ann's own search, still open when bob starts, can hear bob's first beacon.
    expect(await bob.waitFor('peer-connected')).toMatchObject({ nick: 'ann' });
    expect(await ann.waitFor('peer-connected')).toMatchObject({ nick: 'bob', host: '10.201.7.2' });
    bob.send('hello across the LAN, no server');
    expect(await ann.waitFor('message')).toMatchObject({
      from: 'bob',
      text: 'hello across the LAN, no server',
    });
  });
});
