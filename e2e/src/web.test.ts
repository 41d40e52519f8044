import { createRequire } from 'node:module';
import path from 'node:path';
import type { ClientEvent } from '@lanchat/core';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { TestResources, startClient, startServer } from './processes.js';

const resources = new TestResources();
afterEach(resources.cleanUp);

// The browser build of the core, as a web page gets it.
const browserCore = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@lanchat/core/package.json')),
  'dist-browser',
  'index.js',
);
const web = (await import(browserCore)) as typeof import('@lanchat/core');

/** What a page does: the browser build's ChatClient over a WebSocket to `/lanchat`. */
function webSession(
  port: number,
  nick: string,
): {
  events: ClientEvent[];
  say: (text: string) => void;
  waitFor: (type: string) => Promise<ClientEvent>;
} {
  const events: ClientEvent[] = [];
  const waiters = new Set<() => void>();
  const session = new web.ChatClient({ now: Date.now() });
  const socket = new WebSocket(`ws://127.0.0.1:${port}/lanchat`);
  resources.add(() => socket.terminate());
  const flush = (): void => {
    for (let event = session.nextEvent(); event !== undefined; event = session.nextEvent()) {
      events.push(event);
      if (event.type === 'server-identified') session.login({ nick }, Date.now());
    }
    for (const waiter of waiters) waiter();
    if (socket.readyState !== WebSocket.OPEN) return;
    for (let data = session.pollTransmit(); data !== undefined; data = session.pollTransmit()) {
      socket.send(data);
    }
  };
  socket.on('open', flush);
  socket.on('message', (data: Buffer) => {
    session.receive(data, Date.now());
    flush();
  });
  return {
    events,
    say(text) {
      session.say('lobby', text, Date.now());
      flush();
    },
    waitFor(type) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = events.find((event) => event.type === type);
          if (found === undefined) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `no ${type} within 20 s; saw ${events.map((event) => event.type).join(', ')}`,
            ),
          );
        }, 20_000);
        waiters.add(check);
        check();
      });
    },
  };
}

describe('lanchat-server --web (real processes on loopback)', () => {
  it('serves a page and the chat over WebSocket on its own port, beside terminal clients', async () => {
    const directory = await resources.workspace();
    const { server, port } = await startServer(path.join(directory, 'server'), ['--web']);
    resources.track(server);
    expect(await server.waitFor('listening')).toMatchObject({ web: true });
    const page = await fetch(`http://127.0.0.1:${port}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');

    const tom = resources.track(startClient(port, path.join(directory, 'tom'), ['--name', 'tom']));
    await tom.waitFor('connected');
    const browser = webSession(port, 'wendy');
    await browser.waitFor('login-succeeded');
    browser.say('hello from a browser');
    expect(await tom.waitFor('message')).toMatchObject({
      from: 'wendy',
      text: 'hello from a browser',
    });
    tom.send('hello from a terminal');
    expect(await browser.waitFor('message-received')).toMatchObject({
      from: 'tom',
      text: 'hello from a terminal',
    });
  });

  it('without --web, a browser gets the plain-text answer and no WebSocket', async () => {
    const directory = await resources.workspace();
    const { server, port } = await startServer(path.join(directory, 'server'));
    resources.track(server);
    const answer = await fetch(`http://127.0.0.1:${port}/`);
    expect(answer.status).toBe(400);
    expect(await answer.text()).toContain('lanchat protocol, not HTTP');
  });
});
