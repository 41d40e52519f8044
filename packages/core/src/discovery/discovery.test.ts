import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nodeCryptoProvider } from '../crypto/node-crypto-provider.js';
import { MalformedDiscoveryMessageError } from '../errors/discovery-errors.js';
import { InvalidArgumentError, RemoteProtocolError } from '../errors/lanchat-error.js';
import { keyFingerprint } from '../session/fingerprint.js';
import {
  DISCOVERY_QUERY_SCHEDULE,
  DiscoveryAnnouncer,
  DiscoveryBrowser,
} from './discovery-machines.js';
import {
  MAX_ANNOUNCEMENT_LENGTH,
  MIN_QUERY_LENGTH,
  type ServerAnnouncement,
  decodeDiscoveryMessage,
  encodeDiscoveryQuery,
  encodeServerAnnouncement,
} from './discovery-messages.js';

const key = nodeCryptoProvider.generateX25519KeyPair().publicKey;
const hexId = fc
  .uint8Array({ minLength: 8, maxLength: 8 })
  .map((bytes) => Buffer.from(bytes).toString('hex'));
const port = fc.integer({ min: 1, max: 65_535 });
const serverName = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).filter((name) => {
  const bytes = new TextEncoder().encode(name).length;
  // eslint-disable-next-line no-control-regex
  return bytes >= 1 && bytes <= 64 && !/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u.test(name);
});
const announcement: fc.Arbitrary<ServerAnnouncement> = fc.record({
  query: fc.option(hexId, { nil: undefined }),
  instance: hexId,
  publicKey: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  ports: fc
    .record({ tcp: port, udp: port, ws: port }, { requiredKeys: [] })
    .filter((ports) => Object.keys(ports).length > 0),
  name: serverName,
});
const here = { address: '192.0.2.7', port: 40_000 };

describe('discovery messages', () => {
  it('property: any announcement survives encoding, within the documented length', () => {
    fc.assert(
      fc.property(announcement, (sent) => {
        const datagram = encodeServerAnnouncement(sent);
        expect(datagram.length).toBeLessThanOrEqual(MAX_ANNOUNCEMENT_LENGTH);
        const decoded = decodeDiscoveryMessage(datagram);
        expect(decoded).toEqual({ type: 'announcement', announcement: sent });
      }),
    );
  });

  it('encodes a query as 64 bytes and reads its id back', () => {
    const datagram = encodeDiscoveryQuery('0011223344556677');
    expect(datagram.length).toBe(MIN_QUERY_LENGTH);
    expect(Buffer.from(datagram.subarray(0, 12)).toString('hex')).toBe('4c4301400011223344556677');
    expect(decodeDiscoveryMessage(datagram)).toEqual({ type: 'query', query: '0011223344556677' });
  });

  it('encodes an announcement byte for byte as docs/protocol.md section 10 shows', () => {
    const datagram = encodeServerAnnouncement({
      query: '0011223344556677',
      instance: '8899aabbccddeeff',
      publicKey: new Uint8Array(32).fill(0xab),
      ports: { tcp: 9999, udp: 9999 },
      name: 'Lab 3',
    });
    expect(Buffer.from(datagram).toString('hex')).toBe(
      '4c430141' +
        '01' +
        '0011223344556677' +
        '8899aabbccddeeff' +
        'ab'.repeat(32) +
        '270f' +
        '270f' +
        '0000' +
        '05' +
        '4c61622033',
    );
  });

  it('marks a peer with flag bit 1 (0x02), beside the answer bit', () => {
    const peer = encodeServerAnnouncement({
      query: '0011223344556677',
      instance: '8899aabbccddeeff',
      publicKey: key,
      ports: { tcp: 9997 },
      name: 'ann',
      peer: true,
    });
    expect(peer[4]).toBe(0x03);
    const decoded = decodeDiscoveryMessage(peer);
    expect(decoded).toMatchObject({ announcement: { peer: true, name: 'ann' } });
    const server = encodeServerAnnouncement({
      query: undefined,
      instance: '8899aabbccddeeff',
      publicKey: key,
      ports: { tcp: 9999 },
      name: 'Lab',
    });
    expect(server[4]).toBe(0x00);
    expect(decodeDiscoveryMessage(server)).not.toHaveProperty('announcement.peer');
  });

  it('refuses a short query, cut announcements, bad flags, names and ports', () => {
    const query = encodeDiscoveryQuery('0011223344556677');
    expect(() => decodeDiscoveryMessage(query.subarray(0, 63))).toThrow(
      MalformedDiscoveryMessageError,
    );
    const good = encodeServerAnnouncement({
      query: undefined,
      instance: '8899aabbccddeeff',
      publicKey: key,
      ports: { tcp: 9999 },
      name: 'Lab',
    });
    for (let length = 4; length < good.length; length++) {
      expect(() => decodeDiscoveryMessage(good.subarray(0, length))).toThrow(
        MalformedDiscoveryMessageError,
      );
    }
    const flags = good.slice();
    flags[4] = 0x80;
    expect(() => decodeDiscoveryMessage(flags)).toThrow(/unknown flags/);
    const noPort = good.slice();
    noPort.fill(0, 4 + 1 + 8 + 32, 4 + 1 + 8 + 32 + 6);
    expect(() => decodeDiscoveryMessage(noPort)).toThrow(/without any port/);
    const control = good.slice();
    control[control.length - 1] = 0x07;
    expect(() => decodeDiscoveryMessage(control)).toThrow(/control characters/);
    const notUtf8 = good.slice();
    notUtf8[notUtf8.length - 1] = 0xff;
    expect(() => decodeDiscoveryMessage(notUtf8)).toThrow(/not UTF-8/);
    // Fields of a later revision after the name are skipped.
    const longer = new Uint8Array(good.length + 10);
    longer.set(good);
    expect(decodeDiscoveryMessage(longer)?.type).toBe('announcement');
    // A chat datagram on the discovery port is not for discovery, and not an error.
    expect(decodeDiscoveryMessage(Uint8Array.of(0x4c, 0x43, 1, 4, 0, 0))).toBeUndefined();
  });

  it('property: any bytes give a message, undefined, or a RemoteProtocolError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1300 }), fc.boolean(), (bytes, lanchat) => {
        if (lanchat && bytes.length >= 4) {
          bytes[0] = 0x4c;
          bytes[1] = 0x43;
          bytes[2] = 1;
          bytes[3] = bytes[3]! % 2 === 0 ? 0x40 : 0x41;
        }
        try {
          decodeDiscoveryMessage(bytes);
        } catch (error) {
          expect(RemoteProtocolError.isInstance(error)).toBe(true);
        }
      }),
    );
  });

  it('refuses to encode what it would refuse to decode', () => {
    const base = {
      query: undefined,
      instance: '8899aabbccddeeff',
      publicKey: key,
      ports: { tcp: 9999 },
      name: 'Lab',
    };
    for (const bad of [
      { name: '' },
      { name: 'x'.repeat(65) },
      { name: 'bell\u0007' },
      { ports: {} },
      { ports: { tcp: 0 } },
      { ports: { udp: 70_000 } },
      { publicKey: new Uint8Array(31) },
      { instance: 'XYZ' },
      { query: '00' },
    ]) {
      expect(() => encodeServerAnnouncement({ ...base, ...bad })).toThrow(InvalidArgumentError);
    }
  });
});

function announcer(now = 0, maxAnswersPerSecond?: number): DiscoveryAnnouncer {
  return new DiscoveryAnnouncer({
    name: 'Lab 3',
    publicKey: key,
    ports: { tcp: 9999 },
    now,
    ...(maxAnswersPerSecond === undefined ? {} : { maxAnswersPerSecond }),
  });
}

describe('DiscoveryAnnouncer', () => {
  it('beacons to everyone at once, then every 9 to 11 seconds', () => {
    const server = announcer(1000);
    const first = server.pollTransmit(1000);
    expect(first?.to).toBe('everyone');
    const decoded = decodeDiscoveryMessage(first!.datagram);
    expect(decoded?.type === 'announcement' && decoded.announcement.query).toBeUndefined();
    expect(server.pollTransmit(1000)).toBeUndefined();
    const next = server.pollTimeout();
    expect(next).toBeGreaterThanOrEqual(1000 + 9000);
    expect(next).toBeLessThanOrEqual(1000 + 11_000);
    expect(server.pollTransmit(next - 1)).toBeUndefined();
    expect(server.pollTransmit(next)?.to).toBe('everyone');
  });

  it('answers a query to its sender alone, with the query id', () => {
    const server = announcer();
    server.pollTransmit(0);
    server.receive(encodeDiscoveryQuery('0123456789abcdef'), here, 5);
    const answer = server.pollTransmit(5);
    expect(answer?.to).toEqual(here);
    const decoded = decodeDiscoveryMessage(answer!.datagram);
    expect(decoded).toEqual({
      type: 'announcement',
      announcement: {
        query: '0123456789abcdef',
        instance: server.instance,
        publicKey: key,
        ports: { tcp: 9999 },
        name: 'Lab 3',
      },
    });
    expect(answer!.datagram.length).toBeLessThanOrEqual(2 * MIN_QUERY_LENGTH);
  });

  it('announces a new name at once after rename, in beacons and answers alike', () => {
    const server = announcer(0);
    server.pollTransmit(0);
    const nameIn = (output: { datagram: Uint8Array } | undefined): string | undefined => {
      const decoded = decodeDiscoveryMessage(output!.datagram);
      return decoded?.type === 'announcement' ? decoded.announcement.name : undefined;
    };
    server.rename('anna', 500);
    expect(server.name).toBe('anna');
    const beacon = server.pollTransmit(500);
    expect(beacon?.to).toBe('everyone');
    expect(nameIn(beacon)).toBe('anna');
    expect(server.pollTimeout()).toBeGreaterThanOrEqual(500 + 9000);
    server.receive(encodeDiscoveryQuery('0123456789abcdef'), here, 600);
    expect(nameIn(server.pollTransmit(600))).toBe('anna');
    // The same name again changes nothing; a bad one is refused and the old one kept.
    server.rename('anna', 700);
    expect(server.pollTransmit(700)).toBeUndefined();
    expect(() => {
      server.rename('', 800);
    }).toThrow(InvalidArgumentError);
    expect(server.name).toBe('anna');
  });

  it('answers at most its rate: a second of burst, then as tokens come back', () => {
    const server = announcer(0, 5);
    server.pollTransmit(0);
    const query = encodeDiscoveryQuery('0123456789abcdef');
    for (let index = 0; index < 8; index++) server.receive(query, here, 0);
    let answers = 0;
    while (server.pollTransmit(0) !== undefined) answers++;
    expect(answers).toBe(5);
    expect(server.statistics.rateLimited).toBe(3);
    server.receive(query, here, 199);
    expect(server.pollTransmit(199)).toBeUndefined();
    server.receive(query, here, 400);
    expect(server.pollTransmit(400)?.to).toEqual(here);
  });

  it('drops garbage and announcements, counting what was malformed', () => {
    const server = announcer();
    server.pollTransmit(0);
    server.receive(Uint8Array.of(1, 2, 3), here, 1);
    server.receive(encodeDiscoveryQuery('0123456789abcdef').subarray(0, 20), here, 1);
    server.receive(
      encodeServerAnnouncement({
        query: undefined,
        instance: '0011223344556677',
        publicKey: key,
        ports: { tcp: 1 },
        name: 'other',
      }),
      here,
      1,
    );
    expect(server.pollTransmit(1)).toBeUndefined();
    expect(server.statistics.malformed).toBe(2);
  });

  it('checks its options', () => {
    expect(
      () => new DiscoveryAnnouncer({ name: '', publicKey: key, ports: { tcp: 1 }, now: 0 }),
    ).toThrow(InvalidArgumentError);
    expect(() => new DiscoveryAnnouncer({ name: 'x', publicKey: key, ports: {}, now: 0 })).toThrow(
      InvalidArgumentError,
    );
    expect(
      () =>
        new DiscoveryAnnouncer({
          name: 'x',
          publicKey: key,
          ports: { tcp: 1 },
          now: 0,
          beaconInterval: 10,
        }),
    ).toThrow(InvalidArgumentError);
  });
});

describe('DiscoveryBrowser', () => {
  it('queries three times on its schedule, with one id', () => {
    const browser = new DiscoveryBrowser({ now: 100 });
    const sent: number[] = [];
    for (let now = 100; now <= 3000; now += 50) {
      for (
        let out = browser.pollTransmit(now);
        out !== undefined;
        out = browser.pollTransmit(now)
      ) {
        expect(out.to).toBe('everyone');
        expect(decodeDiscoveryMessage(out.datagram)).toEqual({
          type: 'query',
          query: browser.query,
        });
        sent.push(now - 100);
      }
    }
    expect(sent).toEqual([...DISCOVERY_QUERY_SCHEDULE]);
    expect(browser.pollTimeout()).toBeUndefined();
  });

  it('collects servers from answers and beacons, one entry per server with its addresses', () => {
    const browser = new DiscoveryBrowser({ now: 0 });
    const server = announcer();
    const beacon = server.pollTransmit(0)!.datagram;
    server.receive(encodeDiscoveryQuery(browser.query), here, 1);
    const answer = server.pollTransmit(1)!.datagram;
    browser.receive(answer, { address: '192.0.2.1', port: 9998 }, 2);
    browser.receive(beacon, { address: '198.51.100.1', port: 9998 }, 3);
    browser.receive(answer, { address: '192.0.2.1', port: 9998 }, 4);
    expect(browser.nextEvent()?.server.name).toBe('Lab 3');
    expect(browser.nextEvent()).toBeUndefined();
    expect(browser.servers).toEqual([
      {
        instance: server.instance,
        name: 'Lab 3',
        publicKey: key,
        fingerprint: keyFingerprint(key),
        ports: { tcp: 9999 },
        addresses: ['192.0.2.1', '198.51.100.1'],
        lastHeard: 4,
        peer: false,
      },
    ]);
  });

  it('keeps the name a server announced last', () => {
    const browser = new DiscoveryBrowser({ now: 0 });
    const server = announcer();
    browser.receive(server.pollTransmit(0)!.datagram, here, 1);
    server.rename('Lab 3b', 2);
    browser.receive(server.pollTransmit(2)!.datagram, here, 3);
    expect(browser.servers.map((entry) => entry.name)).toEqual(['Lab 3b']);
    // Found once: a new name is no new server.
    expect(browser.nextEvent()?.server.name).toBe('Lab 3');
    expect(browser.nextEvent()).toBeUndefined();
  });

  it('ignores answers to another query, and servers past its bound', () => {
    const browser = new DiscoveryBrowser({ now: 0, maxServers: 1 });
    const server = announcer();
    server.pollTransmit(0);
    server.receive(encodeDiscoveryQuery('ffffffffffffffff'), here, 1);
    browser.receive(server.pollTransmit(1)!.datagram, here, 1);
    expect(browser.servers).toEqual([]);
    browser.receive(announcer().pollTransmit(0)!.datagram, here, 2);
    browser.receive(announcer().pollTransmit(0)!.datagram, here, 3);
    expect(browser.servers.length).toBe(1);
    expect(browser.statistics.ignored).toBe(2);
  });
});
