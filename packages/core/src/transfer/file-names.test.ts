import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors/lanchat-error.js';
import { FALLBACK_FILE_NAME, checkOffer, safeFileName, uniqueFileName } from './file-names.js';
import { MAX_TRANSFER_NAME_BYTES, type TransferOffer } from './transfer-messages.js';

const utf8Length = (text: string): number => new TextEncoder().encode(text).length;

describe('safeFileName', () => {
  it.each([
    ['report.pdf', 'report.pdf'],
    ['../../.bashrc', '___.._.bashrc'],
    ['/etc/passwd', '_etc_passwd'],
    ['C:\\Windows\\system32\\drivers', 'C__Windows_system32_drivers'],
    ['..', FALLBACK_FILE_NAME],
    ['.', FALLBACK_FILE_NAME],
    ['...', FALLBACK_FILE_NAME],
    ['.hidden', '_hidden'],
    ['', FALLBACK_FILE_NAME],
    ['   ', FALLBACK_FILE_NAME],
    ['  spaced name.txt  ', 'spaced name.txt'],
    ['trailing dots...', 'trailing dots'],
    ['CON', '_CON'],
    ['nul.txt', '_nul.txt'],
    ['com1.tar.gz', '_com1.tar.gz'],
    ['LPT9', '_LPT9'],
    ['console.log', 'console.log'],
    ['a\u0000b\u001bc\u007fd\u009be', 'a_b_c_d_e'],
    ['bell\u0007.txt', 'bell_.txt'],
    ['line\nbreak', 'line_break'],
    ['photo\u202Egnp.exe', 'photognp.exe'],
    ['zero\u200Bwidth\uFEFF', 'zerowidth'],
    ['what?<>:"|*.txt', 'what_______.txt'],
    ['cafe\u0301.txt', 'caf\u00e9.txt'],
    ['lone\uD800surrogate', 'lone_surrogate'],
    ['emoji \u{1F600}.png', 'emoji \u{1F600}.png'],
  ])('%j becomes %j', (name, expected) => {
    expect(safeFileName(name)).toBe(expected);
  });

  it('cuts long names to 255 bytes of UTF-8, keeping the extension and whole characters', () => {
    const long = safeFileName(`${'é'.repeat(300)}.txt`);
    expect(utf8Length(long)).toBeLessThanOrEqual(MAX_TRANSFER_NAME_BYTES);
    expect(long.endsWith('é.txt')).toBe(true);
    const emoji = safeFileName('\u{1F600}'.repeat(100));
    expect(utf8Length(emoji)).toBeLessThanOrEqual(MAX_TRANSFER_NAME_BYTES);
    expect(emoji).toMatch(/^(?:\u{1F600})+$/u);
  });

  it('property: any name gives a safe, stable name', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (name) => {
        const safe = safeFileName(name);
        expect(safe.length).toBeGreaterThan(0);
        expect(utf8Length(safe)).toBeLessThanOrEqual(MAX_TRANSFER_NAME_BYTES);
        // eslint-disable-next-line no-control-regex -- control characters are what is checked
        expect(safe).not.toMatch(/[/\\<>:"|?*\u0000-\u001f\u007f-\u009f]/);
        expect(safe).not.toMatch(/^\./);
        expect(safe).not.toMatch(/[\s.]$/u);
        expect(safe).not.toMatch(/^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i);
        expect(safe).toBe(safe.normalize('NFC'));
        expect(safeFileName(safe)).toBe(safe);
      }),
    );
  });
});

describe('uniqueFileName', () => {
  it('numbers a taken name before its extension', () => {
    const taken = new Set(['report.pdf', 'report (1).pdf']);
    expect(uniqueFileName('report.pdf', (name) => taken.has(name))).toBe('report (2).pdf');
    expect(uniqueFileName('notes', (name) => name === 'notes')).toBe('notes (1)');
    expect(uniqueFileName('free.txt', () => false)).toBe('free.txt');
  });

  it('stays within the length limit with its suffix', () => {
    const name = safeFileName(`${'x'.repeat(300)}.bin`);
    const unique = uniqueFileName(name, (candidate) => candidate === name);
    expect(unique.endsWith(' (1).bin')).toBe(true);
    expect(utf8Length(unique)).toBeLessThanOrEqual(MAX_TRANSFER_NAME_BYTES);
  });

  it('gives up when every variant is taken', () => {
    expect(() => uniqueFileName('a.txt', () => true)).toThrow(InvalidArgumentError);
  });
});

describe('checkOffer', () => {
  const offer: TransferOffer = {
    type: 'offer',
    transfer: '0'.repeat(32),
    name: 'big.iso',
    size: 1_000,
    sha256: new Uint8Array(32),
    md5: new Uint8Array(16),
  };

  it('refuses a file over the size limit, or over the free space (with a reserve)', () => {
    expect(checkOffer(offer, {})).toBeUndefined();
    expect(checkOffer(offer, { maxSize: 999 })?.code).toBe('too-large');
    expect(checkOffer(offer, { maxSize: 1_000, freeBytes: 1_000 })).toBeUndefined();
    expect(checkOffer(offer, { freeBytes: 999 })?.code).toBe('no-space');
    expect(checkOffer(offer, { freeBytes: 1_500, reserveBytes: 600 })?.code).toBe('no-space');
  });
});
