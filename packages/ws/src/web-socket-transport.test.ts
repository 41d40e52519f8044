import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { type ChatClient, type ClientEvent, nodeCryptoProvider } from '@lanchat/core';
import { type ChatTcpServer, connectChat, listenChat } from '@lanchat/tcp';
import { Events } from '@lanchat/tcp/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { webSocketTransport } from './web-socket-transport.js';

/**
 * The browser build of the core (the package's `browser` condition), as a web page's bundler
 * picks it: node:crypto replaced by noble, the default crypto provider the browser one.
 */
const browserCore = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@lanchat/core/package.json')),
  'dist-browser',
  'index.js',
);
const web = (await import(browserCore)) as typeof import('@lanchat/core');

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startServer(page?: string): Promise<{ server: ChatTcpServer; port: number }> {
  const web = webSocketTransport(page === undefined ? {} : { page });
  const server = await listenChat({
    staticKeyPair: nodeCryptoProvider.generateX25519KeyPair(),
    host: '127.0.0.1',
    port: 0,
    transports: [web],
    http: web.http,
  });
  cleanups.push(() => server.close());
  return { server, port: server.address().port };
}

/**
 * A chat client over a WebSocket, as the page runs one: the browser build's ChatClient, each
 * write one binary message.
 */
function webClient(
  port: number,
  nick: string,
): { session: ChatClient; events: Events<ClientEvent>; flush: () => void } {
  const events = new Events<ClientEvent>();
  const session = new web.ChatClient({ now: Date.now() });
  const socket = new WebSocket(`ws://127.0.0.1:${port}/lanchat`);
  cleanups.push(() => {
    socket.terminate();
  });
  const flush = (): void => {
    for (let event = session.nextEvent(); event !== undefined; event = session.nextEvent()) {
      events.push(event);
      if (event.type === 'server-identified') session.login({ nick }, Date.now());
    }
    if (socket.readyState !== WebSocket.OPEN) return;
    for (let data = session.pollTransmit(); data !== undefined; data = session.pollTransmit()) {
      socket.send(data);
    }
  };
  socket.binaryType = 'nodebuffer';
  socket.on('open', flush);
  socket.on('message', (data: Buffer) => {
    session.receive(data, Date.now());
    flush();
  });
  return { session, events, flush };
}

function rawHttp(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    socket.write(request);
  });
}

describe("the chat over WebSocket, on the TCP server's own port", () => {
  it('the browser build imports nothing of Node.js, and its default crypto is the browser provider', async () => {
    const code = await readFile(browserCore, 'utf8');
    // Neither `node:crypto` nor a bare `crypto` (bundlers rewrite one into the other).
    expect(code).not.toMatch(/from ["'](?:node:[^"']+|crypto|fs|net|os|path|stream|buffer)["']/);
    expect(web.nodeCryptoProvider.name).toBe('noble (browser)');
  });

  it('a WebSocket client (the browser build of core) and a TCP client chat in one room', async () => {
    const { port } = await startServer();
    const web = webClient(port, 'webby');
    await web.events.waitFor('login-succeeded');
    const tcpEvents = new Events<Parameters<Parameters<typeof connectChat>[0]['onEvent']>[0]>();
    const tcp = connectChat({
      host: '127.0.0.1',
      port,
      login: { nick: 'tim' },
      reconnect: false,
      onEvent: tcpEvents.push,
    });
    cleanups.push(() => {
      tcp.destroy();
      return tcp.stopped;
    });
    await tcpEvents.waitFor('login-succeeded');
    web.session.say('lobby', 'hello from the browser', Date.now());
    web.flush();
    expect(await tcpEvents.waitFor('message-received')).toMatchObject({
      from: 'webby',
      text: 'hello from the browser',
    });
    tcp.say('lobby', 'hello from the terminal');
    expect(await web.events.waitFor('message-received')).toMatchObject({
      from: 'tim',
      text: 'hello from the terminal',
    });
  });

  it('serves the page, safely: its files, nothing outside its folder', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'lanchat-page-'));
    cleanups.push(() => rm(folder, { recursive: true, force: true }));
    await writeFile(path.join(folder, 'index.html'), '<!doctype html><title>page</title>');
    await writeFile(path.join(folder, 'app.js'), 'console.log(1)');
    const { port } = await startServer(folder);
    const index = await fetch(`http://127.0.0.1:${port}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await index.text()).toContain('<title>page</title>');
    const script = await fetch(`http://127.0.0.1:${port}/app.js`);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await fetch(`http://127.0.0.1:${port}/nothing.js`)).status).toBe(404);
    for (const attempt of [
      '/../../../etc/passwd',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/..%2f..%2fetc/passwd',
    ]) {
      const answer = await rawHttp(
        port,
        `GET ${attempt} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      expect(answer).toMatch(/^HTTP\/1\.1 (400|404) /);
      expect(answer).not.toContain('root:');
    }
    expect((await fetch(`http://127.0.0.1:${port}/lanchat`)).status).toBe(426);
    expect((await fetch(`http://127.0.0.1:${port}/`, { method: 'POST' })).status).toBe(405);
  });

  it('without a page, says so at /, and refuses a WebSocket elsewhere than /lanchat', async () => {
    const { port } = await startServer();
    const index = await fetch(`http://127.0.0.1:${port}/`);
    expect(await index.text()).toContain('no web page installed');
    const refused = new WebSocket(`ws://127.0.0.1:${port}/other`);
    await new Promise<void>((resolve) => {
      refused.on('error', () => resolve());
    });
    expect(refused.readyState).not.toBe(WebSocket.OPEN);
  });

  it('closes a WebSocket that sends text, and the server carries on', async () => {
    const { port } = await startServer();
    const socket = new WebSocket(`ws://127.0.0.1:${port}/lanchat`);
    cleanups.push(() => socket.terminate());
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send('hello?');
    const code = await new Promise<number>((resolve) => socket.once('close', resolve));
    expect(code).toBe(1003);
    const web = webClient(port, 'after');
    await web.events.waitFor('login-succeeded');
  });
});
