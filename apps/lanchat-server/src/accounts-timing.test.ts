import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// Count scrypt runs (and their cost) to show that verify() does the same work whether or not the
// account exists. No clocks: what matters is that the same computation runs.
const runs = vi.hoisted(() => [] as number[]);
vi.mock('node:crypto', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:crypto')>();
  const scrypt = ((...args: Parameters<typeof original.scrypt>) => {
    const options = args[3] as { N: number };
    runs.push(options.N);
    (original.scrypt as (...rest: unknown[]) => void)(...args);
  }) as typeof original.scrypt;
  return { ...original, default: { ...original, scrypt }, scrypt };
});

const { AccountStore } = await import('./accounts.js');

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'lanchat-accounts-timing-test-'));
  runs.length = 0;
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('AccountStore.verify', () => {
  it('runs scrypt once with the same cost for known, unknown and impossible users', async () => {
    const store = await AccountStore.open(path.join(root, 'accounts.json'), { scryptCost: 1024 });
    await store.add('alice', 'password1');
    runs.length = 0;
    await expect(store.verify('alice', 'password1')).resolves.toBe(true);
    await expect(store.verify('alice', 'wrong password')).resolves.toBe(false);
    await expect(store.verify('mallory', 'password1')).resolves.toBe(false);
    await expect(store.verify('not a name', 'password1')).resolves.toBe(false);
    await expect(store.verify('alice', 'x'.repeat(5000))).resolves.toBe(false);
    expect(runs).toEqual([1024, 1024, 1024, 1024, 1024]);
  });
});
