import type { TcpClientEvent } from '@lanchat/tcp';
import { connectChatUdp, discoverServers } from '@lanchat/udp';
import { afterEach, describe, expect, it } from 'vitest';
import { TestResources, startClient, startServer } from './processes.js';

const resources = new TestResources();

afterEach(resources.cleanUp);

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
