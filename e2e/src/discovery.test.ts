import { Bonjour, type Service } from 'bonjour-service';
import { afterEach, describe, expect, it } from 'vitest';
import { CLIENT_CLI, JsonProcess, TestResources, startDiscover, startServer } from './processes.js';
import { unusedUdpPort } from '@lanchat/udp/testing';

const resources = new TestResources();
const track = (process: JsonProcess): JsonProcess => resources.track(process);

afterEach(resources.cleanUp);

/** Runs `lanchat --json discover` against `discoveryPort`, for at most `timeout` ms. */
function discover(discoveryPort: string, timeout: number, configDir: string): JsonProcess {
  return track(startDiscover(discoveryPort, timeout, configDir));
}

describe('LAN discovery with the real apps', () => {
  it('lanchat discover finds a server, and lanchat connect without an address reaches it', async () => {
    const { server, port, fingerprint } = await startServer(await resources.workspace(), [
      '--discovery-port',
      '0',
      '--name',
      'Lab e2e',
    ]);
    track(server);
    const announced = await server.waitFor('discovery');
    const discoveryPort = String(announced['port']);
    const configDir = await resources.workspace();

    const search = discover(discoveryPort, 1500, configDir);
    const found = await search.waitFor('server-found');
    expect(found).toMatchObject({
      name: 'Lab e2e',
      host: '127.0.0.1',
      port,
      fingerprint,
      key: 'new',
    });
    expect(await search.exited).toBe(0);
    expect(search.ofType('discovered')).toMatchObject([{ count: 1 }]);

    const client = track(
      new JsonProcess(CLIENT_CLI, [
        '--json',
        'connect',
        '--discovery-port',
        discoveryPort,
        '--config-dir',
        configDir,
        '--name',
        'carol',
      ]),
    );
    await client.waitFor('connected', (event) => event['nick'] === 'carol');
    expect(client.ofType('server-key')).toMatchObject([{ fingerprint, status: 'new' }]);
    client.send('/quit');
    expect(await client.end()).toBe(0);
  });

  it('the server also advertises _lanchat._tcp over mDNS, for standard DNS-SD tools', async () => {
    const mdnsPort = await unusedUdpPort();
    const { server, port, fingerprint } = await startServer(await resources.workspace(), [
      '--name',
      'Lab mDNS',
      '--mdns-port',
      String(mdnsPort),
    ]);
    track(server);
    await server.waitFor('discovery');
    const browser = new Bonjour({
      port: mdnsPort,
      bind: '0.0.0.0',
      interface: '127.0.0.1',
    } as ConstructorParameters<typeof Bonjour>[0]);
    resources.add(
      () =>
        new Promise<void>((resolve) => {
          browser.destroy(() => {
            resolve();
          });
        }),
    );
    const found = await new Promise<Service>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error('no _lanchat._tcp service within 10 s'));
      }, 10_000);
      browser.find({ type: 'lanchat' }, (service) => {
        clearTimeout(timer);
        resolve(service);
      });
    });
    expect(found).toMatchObject({ name: 'Lab mDNS', port, txt: { v: '1', fp: fingerprint } });
  });

  it('finds nothing when the server runs with --no-discovery, and says so with exit 1', async () => {
    const discoveryPort = String(await unusedUdpPort());
    const { server } = await startServer(await resources.workspace(), [
      '--no-discovery',
      '--discovery-port',
      discoveryPort,
    ]);
    track(server);
    const search = discover(discoveryPort, 1200, await resources.workspace());
    expect(await search.exited).toBe(1);
    expect(search.ofType('discovered')).toMatchObject([{ count: 0 }]);
    expect(server.ofType('discovery')).toEqual([]);
    const connect = track(
      new JsonProcess(CLIENT_CLI, [
        '--json',
        'connect',
        '--discovery-port',
        discoveryPort,
        '--config-dir',
        await resources.workspace(),
      ]),
    );
    expect(await connect.exited).toBe(2);
    expect(connect.stderr.join('\n')).toMatch(/no lanchat server answered/);
  });
});
