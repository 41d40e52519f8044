import { createHash, randomBytes } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { TcpClientEvent } from '@lanchat/tcp';
import { connectChatUdp, discoverServers } from '@lanchat/udp';
import { afterEach, describe, expect, it } from 'vitest';
import { unusedUdpPort } from '@lanchat/udp/testing';
import { CLIENT_CLI, JsonProcess, TestResources, startClient, startServer } from './processes.js';

const resources = new TestResources();

afterEach(resources.cleanUp);

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('lanchat-server --udp', () => {
  it('a UDP client, with the key from discovery, chats with a TCP client of the lanchat app', async () => {
    const { server, port, fingerprint } = await startServer(await resources.workspace(), [
      '--udp',
      '--discovery-port',
      '0',
      '--name',
      'Both',
    ]);
    resources.track(server);
    const listening = await server.waitFor('listening');
    expect(listening['udpPort']).toBe(port);
    const discoveryPort = (await server.waitFor('discovery'))['port'] as number;

    // The key comes from discovery, as a UDP client with nothing pinned would get it.
    const controller = new AbortController();
    const [found] = await discoverServers({
      port: discoveryPort,
      interfaces: ['127.0.0.1'],
      timeout: 10_000,
      signal: controller.signal,
      onServer: () => {
        controller.abort();
      },
    });
    expect(found).toMatchObject({ name: 'Both', fingerprint, ports: { tcp: port, udp: port } });

    const events: TcpClientEvent[] = [];
    const udp = connectChatUdp({
      host: '127.0.0.1',
      port,
      serverKey: found!.publicKey,
      login: { nick: 'ursula' },
      reconnect: false,
      onEvent: (event) => events.push(event),
    });
    resources.add(() => udp.bye());
    await expect.poll(() => udp.online, { timeout: 10_000 }).toBe(true);

    const carol = resources.track(
      startClient(port, await resources.workspace(), ['--name', 'carol']),
    );
    await carol.waitFor('connected');
    carol.send('hello, udp');
    await expect
      .poll(
        () =>
          events.some(
            (event) =>
              event.type === 'message-received' &&
              event.from === 'carol' &&
              event.text === 'hello, udp',
          ),
        { timeout: 10_000 },
      )
      .toBe(true);
    udp.say('lobby', 'hello, tcp');
    expect(await carol.waitFor('message', (event) => event['text'] === 'hello, tcp')).toMatchObject(
      { from: 'ursula', room: 'lobby' },
    );
  });
});

describe('lanchat connect --udp and lanchat send --udp', () => {
  it('chat and files over UDP with a TCP user in the same room; the key asked of the server first, then from known_hosts', async () => {
    const workspace = await resources.workspace();
    const { server, port, fingerprint } = await startServer(path.join(workspace, 'server'), [
      '--udp',
      '--discovery-port',
      '0',
    ]);
    resources.track(server);
    const discoveryPort = String((await server.waitFor('discovery'))['port']);
    const ursulaConfig = path.join(workspace, 'ursula');
    const ursulaInbox = path.join(workspace, 'ursula-inbox');
    const carolInbox = path.join(workspace, 'carol-inbox');

    // Nothing pinned: `--udp` asks the server for its key by discovery, and pins it on first use.
    const ursula = resources.track(
      new JsonProcess(CLIENT_CLI, [
        '--json',
        'connect',
        '--udp',
        `127.0.0.1:${port}`,
        '--discovery-port',
        discoveryPort,
        '--config-dir',
        ursulaConfig,
        '--name',
        'ursula',
        '--accept-files',
        ursulaInbox,
      ]),
    );
    expect(await ursula.waitFor('connecting')).toMatchObject({ transport: 'udp', port });
    expect(await ursula.waitFor('server-key')).toMatchObject({ status: 'new', fingerprint });
    await ursula.waitFor('connected');
    const carol = resources.track(
      startClient(port, path.join(workspace, 'carol'), [
        '--name',
        'carol',
        '--accept-files',
        carolInbox,
      ]),
    );
    await carol.waitFor('connected');

    carol.send('hello from tcp');
    expect(await ursula.waitFor('message')).toMatchObject({
      from: 'carol',
      text: 'hello from tcp',
    });
    ursula.send('hello from udp');
    expect(await carol.waitFor('message')).toMatchObject({
      from: 'ursula',
      text: 'hello from udp',
    });

    // A file from TCP to UDP, relayed by the server.
    const toUrsula = randomBytes(3_000_000);
    await writeFile(path.join(workspace, 'to-ursula.bin'), toUrsula);
    carol.send(`/send ursula ${path.join(workspace, 'to-ursula.bin')}`);
    const incoming = (event: { readonly [key: string]: unknown }): boolean =>
      event['direction'] === 'incoming';
    const received = await ursula.waitFor('transfer-completed', incoming, 60_000);
    expect(sha256(await readFile(received['path'] as string))).toBe(sha256(toUrsula));
    expect(await readdir(ursulaInbox)).toEqual(['to-ursula.bin']);

    // The one-shot send over UDP, with the key now pinned in ursula's known_hosts.
    const toCarol = randomBytes(2_000_000);
    await writeFile(path.join(workspace, 'to-carol.bin'), toCarol);
    const send = resources.track(
      new JsonProcess(CLIENT_CLI, [
        '--json',
        'send',
        '--udp',
        `127.0.0.1:${port}`,
        'carol',
        path.join(workspace, 'to-carol.bin'),
        '--config-dir',
        ursulaConfig,
        '--name',
        'ursula2',
      ]),
    );
    expect(await send.waitFor('server-key')).toMatchObject({ status: 'known', fingerprint });
    expect(await send.exited).toBe(0);
    const atCarol = await carol.waitFor('transfer-completed', incoming, 60_000);
    expect(sha256(await readFile(atCarol['path'] as string))).toBe(sha256(toCarol));
  });

  it('refuses --udp to an address where nothing gives a key (exit 2)', async () => {
    const workspace = await resources.workspace();
    // Nothing listens there: neither TCP nor discovery answers.
    const port = await unusedUdpPort();
    const client = resources.track(
      new JsonProcess(CLIENT_CLI, [
        'connect',
        '--udp',
        `127.0.0.1:${port}`,
        '--discovery-port',
        String(await unusedUdpPort()),
        '--config-dir',
        path.join(workspace, 'client'),
      ]),
    );
    expect(await client.exited).toBe(2);
    expect(client.stderr.join('\n')).toMatch(/did not give its key/);
  });

  it('says so when the server runs without --udp: the key comes over TCP, UDP gets no answer (exit 1)', async () => {
    const workspace = await resources.workspace();
    const { server, port } = await startServer(path.join(workspace, 'server'));
    resources.track(server);
    const client = resources.track(
      new JsonProcess(CLIENT_CLI, [
        '--json',
        'connect',
        '--udp',
        `127.0.0.1:${port}`,
        '--config-dir',
        path.join(workspace, 'client'),
      ]),
    );
    // The kernel's "port unreachable" says at once that nothing serves UDP there.
    const error = await client.waitFor('error', (event) =>
      /no answer over UDP.*--udp/.test(event['message'] as string),
    );
    expect(error).toMatchObject({ code: 'connection-failed' });
    expect(client.ofType('server-key')).toEqual([]);
    expect(await client.exited).toBe(1);
  });

  it('refuses a server whose key changed, over UDP as over TCP: both fingerprints, exit 3', async () => {
    const workspace = await resources.workspace();
    const config = path.join(workspace, 'client');
    const first = await startServer(path.join(workspace, 'first'), ['--udp']);
    resources.track(first.server);
    const connectOnce = (): JsonProcess =>
      resources.track(
        new JsonProcess(CLIENT_CLI, [
          '--json',
          'connect',
          '--udp',
          `127.0.0.1:${first.port}`,
          '--config-dir',
          config,
          '--name',
          'wary',
        ]),
      );
    const pinning = connectOnce();
    await pinning.waitFor('connected');
    expect(await pinning.end()).toBe(0);
    await first.server.kill('SIGTERM');
    // Another server (another data directory: another key) on the same port.
    const second = await startServer(path.join(workspace, 'second'), ['--udp'], first.port);
    resources.track(second.server);
    const refused = connectOnce();
    const error = await refused.waitFor('error');
    expect(error).toMatchObject({ code: 'server-key-changed' });
    expect(error['message']).toContain(first.fingerprint);
    expect(error['message']).toContain(second.fingerprint);
    expect(await refused.exited).toBe(3);
  });
});
