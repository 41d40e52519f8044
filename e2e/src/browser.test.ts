/**
 * The web page in a real browser: Debian's Chromium driven by playwright-core, against the real
 * `lanchat-server --web` (the page built into it), with a terminal client in `--json` mode.
 * Screenshots go to e2e/artifacts/.
 */

import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { SERVER_CLI, TestResources, startClient, startServer } from './processes.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(import.meta.dirname, '..', 'artifacts');

const resources = new TestResources();
let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // Root in a container: Chromium's sandbox needs user namespaces it may not have.
    args: ['--no-sandbox'],
  });
  await mkdir(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await resources.cleanUp();
  await browser.close();
});

async function join(
  port: number,
  nick: string,
  viewport = { width: 1100, height: 800 },
): Promise<Page> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.getByLabel('Your name').fill(nick);
  await page.getByRole('button', { name: 'Join', exact: true }).click();
  await page.locator('#chat').waitFor({ state: 'visible' });
  return page;
}

async function say(page: Page, text: string): Promise<void> {
  await page.getByLabel('Message').fill(text);
  await page.getByLabel('Message').press('Enter');
}

describe('the web page in Chromium, beside a terminal client', () => {
  it('room chat both ways, a private chat, and a file from a page to the terminal client', async () => {
    const directory = await resources.workspace();
    const { server, port, fingerprint } = await startServer(path.join(directory, 'server'), [
      '--web',
    ]);
    resources.track(server);
    const inbox = path.join(directory, 'inbox');
    const tom = resources.track(
      startClient(port, path.join(directory, 'tom'), ['--name', 'tom', '--accept-files', inbox]),
    );
    await tom.waitFor('connected');

    const alice = await join(port, 'alice');
    const bob = await join(port, 'bob', { width: 390, height: 844 });
    // The server's key is shown, as the server printed it.
    await expect.poll(() => alice.locator('#fingerprint').textContent()).toBe(fingerprint);

    // Room chat: page to terminal and page, terminal to pages.
    await say(alice, 'hello from alice');
    expect(await tom.waitFor('message', (event) => event['from'] === 'alice')).toMatchObject({
      room: 'lobby',
      text: 'hello from alice',
    });
    await bob.locator('#transcript', { hasText: 'alice: hello from alice' }).waitFor();
    tom.send('hello from the terminal');
    await alice.locator('#transcript', { hasText: 'tom: hello from the terminal' }).waitFor();
    await bob.locator('#transcript', { hasText: 'tom: hello from the terminal' }).waitFor();

    // A private chat between the two pages.
    await alice.locator('#people').getByRole('button', { name: 'bob' }).click();
    await say(alice, 'just between us');
    await bob.locator('#privates').getByRole('button', { name: /alice/ }).click();
    await bob.locator('#transcript', { hasText: 'alice: just between us' }).waitFor();
    expect(tom.ofType('private-message')).toEqual([]);

    // Presence, and a room joined and left.
    await bob.getByLabel('You are').selectOption('away');
    await alice.locator('#people li', { hasText: 'bob' }).filter({ hasText: 'away' }).waitFor();
    await alice.getByLabel('Join a room').fill('games');
    await alice.getByRole('button', { name: 'Join', exact: true }).click();
    await alice.locator('#conversation-title', { hasText: '#games' }).waitFor();
    await alice.getByRole('button', { name: 'Leave this room' }).click();
    await alice.locator('#conversation-title', { hasText: '#lobby' }).waitFor();
    expect(await alice.locator('#rooms').textContent()).not.toContain('games');

    // A file from alice's page to tom, checked by SHA-256.
    const content = randomBytes(300_000);
    await alice.locator('#people').getByRole('button', { name: 'tom' }).click();
    await alice.locator('#file-input').setInputFiles({
      name: 'notes.bin',
      mimeType: 'application/octet-stream',
      buffer: content,
    });
    const received = await tom.waitFor('transfer-completed', () => true, 30_000);
    const digest = createHash('sha256').update(content).digest('hex');
    expect(received).toMatchObject({ peer: 'alice', name: 'notes.bin', sha256: digest });
    const saved = await readFile(received['path'] as string);
    expect(createHash('sha256').update(saved).digest('hex')).toBe(digest);
    await alice.locator('#files', { hasText: 'sent' }).waitFor();

    await alice.screenshot({ path: path.join(ARTIFACTS, 'page-desktop.png'), fullPage: true });
    await bob.screenshot({ path: path.join(ARTIFACTS, 'page-phone.png'), fullPage: true });
  });

  it('takes a file from the terminal client into a page, checked, with a link to save it', async () => {
    const directory = await resources.workspace();
    const { server, port } = await startServer(path.join(directory, 'server'), ['--web']);
    resources.track(server);
    const tom = resources.track(startClient(port, path.join(directory, 'tom'), ['--name', 'tom']));
    await tom.waitFor('connected');
    const alice = await join(port, 'alice');
    const content = randomBytes(200_000);
    const source = path.join(directory, 'photo.bin');
    await writeFile(source, content);
    tom.send(`/send alice ${source}`);
    await alice.locator('#files', { hasText: 'tom offers photo.bin' }).waitFor();
    await alice.getByRole('button', { name: 'Accept' }).click();
    const link = alice.getByRole('link', { name: 'Save photo.bin' });
    await link.waitFor();
    // The bytes behind the link, hashed in the page.
    const digest = await alice.evaluate(
      async (url: string) => {
        const bytes = await (await fetch(url)).arrayBuffer();
        const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
        return Array.from(hash, (byte) => byte.toString(16).padStart(2, '0')).join('');
      },
      (await link.getAttribute('href'))!,
    );
    expect(digest).toBe(createHash('sha256').update(content).digest('hex'));
    expect(await tom.waitFor('transfer-completed')).toMatchObject({ peer: 'alice' });
  });

  it('asks for an account on a server that requires one, and logs in with it', async () => {
    const directory = await resources.workspace();
    const dataDir = path.join(directory, 'server');
    const added = spawn(process.execPath, [
      SERVER_CLI,
      'users',
      'add',
      'carol',
      '--data-dir',
      dataDir,
    ]);
    added.stdin.end('correct horse battery\n');
    expect(await new Promise((resolve) => added.on('exit', resolve))).toBe(0);
    const { server, port } = await startServer(dataDir, ['--web', '--accounts']);
    resources.track(server);
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.getByLabel('Your name').fill('carol');
    await page.getByRole('button', { name: 'Join', exact: true }).click();
    await page.getByLabel('Password').waitFor({ state: 'visible' });
    await page.getByLabel('Account').fill('carol');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Join', exact: true }).click();
    await page.locator('#chat').waitFor({ state: 'visible' });
    await page.screenshot({ path: path.join(ARTIFACTS, 'page-account.png') });
  });

  it('reconnects after the server restarts, and refuses a server whose key changed', async () => {
    const directory = await resources.workspace();
    const dataDir = path.join(directory, 'server');
    const first = await startServer(dataDir, ['--web']);
    resources.track(first.server);
    const port = first.port;
    const alice = await join(port, 'alice');
    await first.server.kill('SIGTERM');
    await alice.locator('#status', { hasText: 'reconnecting' }).waitFor();
    // The same server (same identity) back on its port: the page logs in again by itself.
    const again = await startServer(dataDir, ['--web'], port);
    resources.track(again.server);
    await alice.locator('#status', { hasText: 'connected' }).waitFor({ timeout: 20_000 });
    const tom = resources.track(startClient(port, path.join(directory, 'tom'), ['--name', 'tom']));
    await tom.waitFor('connected');
    await say(alice, 'back again');
    expect(await tom.waitFor('message')).toMatchObject({ from: 'alice', text: 'back again' });
    // Another identity on that port: the page refuses it, with both fingerprints.
    await again.server.kill('SIGTERM');
    const impostor = await startServer(path.join(directory, 'other'), ['--web'], port);
    resources.track(impostor.server);
    await alice.locator('#status', { hasText: 'CHANGED' }).waitFor({ timeout: 20_000 });
    expect(await alice.locator('#status').textContent()).toContain(impostor.fingerprint);
    expect(impostor.server.ofType('user-logged-in')).toEqual([]);
  });
});
