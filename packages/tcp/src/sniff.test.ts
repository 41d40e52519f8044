import { PREAMBLE_MAGIC, encodePreamble } from '@lanchat/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sniffHttp } from './chat-tcp-server.js';

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('telling HTTP from lanchat on the first bytes of a connection', () => {
  it('knows an HTTP request line, and waits while the bytes may still become one', () => {
    expect(sniffHttp(ascii('GET / HTTP/1.1\r\n'))).toBe(true);
    expect(sniffHttp(ascii('OPTIONS * HTTP/1.1\r\n'))).toBe(true);
    expect(sniffHttp(ascii('GE'))).toBeUndefined();
    expect(sniffHttp(ascii('GET'))).toBeUndefined();
    expect(sniffHttp(ascii('GETX / HTTP/1.1'))).toBe(false);
    expect(sniffHttp(ascii('get / HTTP/1.1'))).toBe(false);
  });

  it('never takes a lanchat preamble, or any part of one, for HTTP', () => {
    const preamble = encodePreamble();
    expect(PREAMBLE_MAGIC.length).toBeGreaterThan(0);
    for (let length = 1; length <= preamble.length; length++) {
      expect(sniffHttp(preamble.subarray(0, length))).toBe(false);
    }
  });

  it('property: bytes that do not start with an HTTP method and a space are never HTTP', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 64 }), (bytes) => {
        const text = Buffer.from(bytes.subarray(0, 8)).toString('latin1');
        const http = /^(GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH|CONNECT|TRACE) /.test(text);
        expect(sniffHttp(bytes)).toBe(http);
      }),
    );
  });
});
