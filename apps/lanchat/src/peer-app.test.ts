import { MAX_SERVER_NAME_BYTES, checkServerName } from '@lanchat/core';
import { describe, expect, it } from 'vitest';
import { lanName } from './peer-app.js';

describe('lanName', () => {
  it('keeps a nickname that fits an announcement', () => {
    expect(lanName('anna')).toBe('anna');
    expect(lanName('sam-4f2a')).toBe('sam-4f2a');
  });

  it('cuts a long one at a character end, within the announcement bound, and it is accepted', () => {
    for (const nick of ['語'.repeat(32), '🎈'.repeat(32), `a${'é'.repeat(31)}`]) {
      const name = lanName(nick);
      expect(nick.startsWith(name)).toBe(true);
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_SERVER_NAME_BYTES);
      expect(Buffer.byteLength(name)).toBeGreaterThan(MAX_SERVER_NAME_BYTES - 4);
      expect(() => checkServerName(name)).not.toThrow();
    }
  });
});
