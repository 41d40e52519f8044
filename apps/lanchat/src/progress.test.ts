import { describe, expect, it } from 'vitest';
import { ProgressBars, formatBytes, formatDuration } from './progress.js';
import { formatEvent } from './terminal-ui.js';

const fields = {
  transfer: 'ab'.repeat(16),
  id: 'abababab',
  direction: 'incoming',
  peer: 'alice',
  name: 'holiday.mp4',
} as const;

describe('file transfer output', () => {
  it('formats bytes and durations as people read them', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1_500)).toBe('1.5 kB');
    expect(formatBytes(123_456_789)).toBe('123 MB');
    expect(formatBytes(2_000_000_000)).toBe('2.0 GB');
    expect(formatDuration(65)).toBe('1:05');
    expect(formatDuration(7_384)).toBe('2:03:04');
  });

  it('draws a bar with bytes, rate and time left in front of the prompt, until the end', () => {
    const bars = new ProgressBars();
    expect(bars.status()).toBe('');
    expect(
      bars.handle({
        event: 'transfer-progress',
        ...fields,
        bytes: 430_000_000,
        size: 1_000_000_000,
        rate: 12_000_000,
        eta: 48,
      }),
    ).toBe(true);
    const status = bars.status();
    expect(status).toContain('holiday.mp4');
    expect(status).toContain('43%');
    expect(status).toContain('430 MB of 1.0 GB');
    expect(status).toContain('12.0 MB/s');
    expect(status).toContain('ETA 0:48');
    bars.handle({
      event: 'transfer-completed',
      ...fields,
      size: 1_000_000_000,
      seconds: 80,
      rate: 12_500_000,
      sha256: 'f'.repeat(64),
      md5: '0'.repeat(32),
      path: '/home/bob/Downloads/holiday.mp4',
    });
    expect(bars.status()).toBe('');
  });

  it('shows an offer with how to answer it, and a summary line with time, rate and SHA-256', () => {
    const [offer] = formatEvent(
      {
        event: 'transfer-offered',
        ...fields,
        size: 1_000_000_000,
        sha256: 'f'.repeat(64),
        md5: '0'.repeat(32),
      },
      'bob',
    );
    expect(offer).toContain('alice offers you');
    expect(offer).toContain('holiday.mp4');
    expect(offer).toContain('1.0 GB');
    expect(offer).toContain('/accept abababab');
    const [summary] = formatEvent(
      {
        event: 'transfer-completed',
        ...fields,
        size: 1_000_000_000,
        seconds: 80,
        rate: 12_500_000,
        sha256: 'f'.repeat(64),
        md5: '0'.repeat(32),
        path: '/home/bob/Downloads/holiday.mp4',
      },
      'bob',
    );
    expect(summary).toContain('saved as /home/bob/Downloads/holiday.mp4');
    expect(summary).toContain('1.0 GB in 1:20, 12.5 MB/s');
    expect(summary).toContain(`SHA-256 ${'f'.repeat(64)}`);
  });
});
