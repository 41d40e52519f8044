import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nodeCryptoProvider } from '../crypto/node-crypto-provider.js';
import { decodeDatagramFrame } from '../frame/datagram-frame.js';
import {
  COOKIE_LIFETIME,
  COOKIE_REPLY_TYPE,
  CookieChecker,
  CookieJar,
  HANDSHAKE_MAC_LENGTH,
  cookieReplyIndex,
  stripHandshakeMacs,
} from './handshake-cookies.js';

const server = nodeCryptoProvider.generateX25519KeyPair();
const stranger = nodeCryptoProvider.generateX25519KeyPair();
const initiation = Uint8Array.from({ length: 120 }, (_, index) => index);
const here = '192.0.2.7:40000';

function checker(now = 0): CookieChecker {
  return new CookieChecker({ staticPublicKey: server.publicKey, now });
}

/** The body of a cookie reply datagram. */
function replyBody(reply: Uint8Array): Uint8Array {
  const frame = decodeDatagramFrame(reply);
  expect(frame.type).toBe(COOKIE_REPLY_TYPE);
  return frame.body;
}

describe('handshake MACs', () => {
  it('accepts a datagram whose mac1 is keyed by the server key, and strips back to it', () => {
    const sealed = new CookieJar(server.publicKey).seal(initiation, 0);
    expect(sealed.length).toBe(initiation.length + 2 * HANDSHAKE_MAC_LENGTH);
    // Without a cookie, mac2 is zeros.
    expect(sealed.subarray(-HANDSHAKE_MAC_LENGTH).every((byte) => byte === 0)).toBe(true);
    expect(checker().check(sealed, here, false, 0)).toBe('accept');
    expect(stripHandshakeMacs(sealed)).toEqual(initiation);
  });

  it('drops a datagram keyed for another server, altered, or too short, without a reply', () => {
    const c = checker();
    expect(c.check(new CookieJar(stranger.publicKey).seal(initiation, 0), here, false, 0)).toBe(
      'drop',
    );
    const sealed = new CookieJar(server.publicKey).seal(initiation, 0);
    for (const at of [0, 50, initiation.length, initiation.length + 3]) {
      const altered = sealed.slice();
      altered[at] = altered[at]! ^ 1;
      expect(c.check(altered, here, false, 0)).toBe('drop');
    }
    expect(c.check(sealed.subarray(0, 31), here, false, 0)).toBe('drop');
  });

  it('property: any bytes are dropped, never thrown on, loaded or not', () => {
    const c = checker();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, underLoad) => {
        expect(c.check(bytes, here, underLoad, 0)).toBe('drop');
      }),
    );
  });
});

describe('cookies under load', () => {
  it('asks for a cookie, and accepts the retry that carries it, from that address only', () => {
    const c = checker();
    const jar = new CookieJar(server.publicKey);
    const first = jar.seal(initiation, 10);
    expect(c.check(first, here, true, 10)).toBe('send-cookie');
    const reply = c.cookieReply(first, here, 0xdeadbeef, 10);
    // Smaller than what caused it: no amplification.
    expect(reply.length).toBeLessThan(first.length);
    expect(cookieReplyIndex(replyBody(reply))).toBe(0xdeadbeef);
    expect(jar.receiveReply(replyBody(reply), first, 11)).toBe(true);
    const retry = jar.seal(initiation, 12);
    expect(c.check(retry, here, true, 12)).toBe('accept');
    expect(c.check(retry, '198.51.100.9:40000', true, 12)).toBe('send-cookie');
    // Not under load, mac2 is not looked at.
    expect(c.check(first, '198.51.100.9:40000', false, 12)).toBe('accept');
  });

  it('refuses a reply meant for another datagram, altered, or from another server key', () => {
    const c = checker();
    const jar = new CookieJar(server.publicKey);
    const first = jar.seal(initiation, 0);
    const reply = replyBody(c.cookieReply(first, here, 1, 0));
    const other = jar.seal(Uint8Array.of(1, 2, 3), 0);
    expect(jar.receiveReply(reply, other, 0)).toBe(false);
    const altered = reply.slice();
    altered[20] = altered[20]! ^ 1;
    expect(jar.receiveReply(altered, first, 0)).toBe(false);
    expect(jar.receiveReply(reply.subarray(1), first, 0)).toBe(false);
    expect(new CookieJar(stranger.publicKey).receiveReply(reply, first, 0)).toBe(false);
    // Nothing kept: the next datagram still has no mac2.
    expect(c.check(jar.seal(initiation, 0), here, true, 0)).toBe('send-cookie');
  });

  it('lets cookies expire with the secret, every two minutes', () => {
    const c = checker(0);
    const jar = new CookieJar(server.publicKey);
    const first = jar.seal(initiation, 0);
    expect(jar.receiveReply(replyBody(c.cookieReply(first, here, 1, 0)), first, 0)).toBe(true);
    expect(c.check(jar.seal(initiation, 1000), here, true, 1000)).toBe('accept');
    // The server's secret turned over: the old cookie no longer counts.
    expect(c.check(jar.seal(initiation, 1000), here, true, COOKIE_LIFETIME)).toBe('send-cookie');
    // The client stops using a cookie before the server stops taking it.
    const late = jar.seal(initiation, COOKIE_LIFETIME - 1000);
    expect(late.subarray(-HANDSHAKE_MAC_LENGTH).every((byte) => byte === 0)).toBe(true);
  });
});
