import { checkServerName } from '@lanchat/core';
import { describe, expect, it } from 'vitest';
import { discoveryName } from './discovery-name.js';

describe('discoveryName', () => {
  it('takes --name, else the host name', () => {
    expect(discoveryName('Lab 3', 'host-a')).toBe('Lab 3');
    expect(discoveryName(undefined, 'host-a')).toBe('host-a');
  });

  it('drops control characters and cuts at 64 bytes without splitting a character', () => {
    expect(discoveryName('a\u0007b\nc', 'x')).toBe('abc');
    const long = 'é'.repeat(40);
    const name = discoveryName(long, 'x');
    expect(name).toBe('é'.repeat(32));
    expect(() => checkServerName(name)).not.toThrow();
    expect(discoveryName('\u0001\u0002', '')).toBe('lanchat');
  });
});
