/**
 * The quick-start demo: the real lanchat-server and two scripted lanchat clients (--json mode) on a
 * free loopback port, exchanging room and private messages; the transcript is printed readably.
 * Every step waits for an event, never for a fixed time. Exits 0 when all went as expected.
 */

import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

const require = createRequire(import.meta.url);
const serverCli = path.join(
  path.dirname(require.resolve('lanchat-server/package.json')),
  'dist',
  'cli.js',
);
const clientCli = path.join(
  path.dirname(require.resolve('lanchat/package.json')),
  'dist',
  'cli.js',
);

type JsonEvent = Readonly<Record<string, unknown>> & { readonly event: string };

/** A process that prints JSON lines; each is shown through `show` and can be waited for. */
class Participant {
  readonly #child: ChildProcessByStdio<Writable, Readable, null>;
  readonly #events: JsonEvent[] = [];
  readonly #waiters = new Set<() => void>();
  readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    script: string,
    args: readonly string[],
    show: (name: string, event: JsonEvent) => void,
  ) {
    this.#child = spawn(process.execPath, [script, ...args], {
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    createInterface({ input: this.#child.stdout }).on('line', (line) => {
      const event = JSON.parse(line) as JsonEvent;
      this.#events.push(event);
      show(name, event);
      for (const waiter of this.#waiters) waiter();
    });
    this.exited = new Promise((resolve) => {
      this.#child.on('exit', (code) => {
        resolve(code);
        for (const waiter of this.#waiters) waiter();
      });
    });
  }

  waitFor(
    event: string,
    predicate: (found: JsonEvent) => boolean = () => true,
  ): Promise<JsonEvent> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.#events.find(
          (candidate) => candidate.event === event && predicate(candidate),
        );
        if (found !== undefined || this.#child.exitCode !== null) {
          this.#waiters.delete(check);
          clearTimeout(timer);
          if (found === undefined) reject(new Error(`${this.name} exited before ${event}`));
          else resolve(found);
        }
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`${this.name}: no ${event} within 20 s`));
      }, 20_000);
      this.#waiters.add(check);
      check();
    });
  }

  type(line: string): void {
    console.log(`  ${this.name.padEnd(6)} types   ${line}`);
    this.#child.stdin.write(`${line}\n`);
  }

  endInput(): void {
    this.#child.stdin.end();
  }

  stop(): void {
    this.#child.kill('SIGTERM');
  }
}

function show(name: string, event: JsonEvent): void {
  const who = name.padEnd(6);
  const line = (text: string): void => {
    console.log(`  ${who} ${text}`);
  };
  switch (event.event) {
    case 'listening':
      line(
        `listens on ${(event['addresses'] as string[]).join(', ')}, key ${String(event['fingerprint'])}`,
      );
      return;
    case 'user-logged-in':
      line(`sees ${String(event['nick'])} log in`);
      return;
    case 'user-logged-out':
      line(`sees ${String(event['nick'])} leave (${String(event['reason'])})`);
      return;
    case 'server-key':
      line(
        `checks the server key ${String(event['fingerprint'])}: ${event['status'] === 'new' ? 'first use, pinned' : String(event['status'])}`,
      );
      return;
    case 'connected':
      line(`is in, as ${String(event['nick'])}, in #${(event['rooms'] as string[]).join(', #')}`);
      return;
    case 'message':
      line(`reads   #${String(event['room'])} <${String(event['from'])}> ${String(event['text'])}`);
      return;
    case 'private-message':
      line(`reads   (private) <${String(event['from'])}> ${String(event['text'])}`);
      return;
    case 'delivered':
      line(`sees message ${String(event['id'])} delivered`);
      return;
    case 'joined':
      line(`joined  #${String(event['room'])} with ${(event['members'] as string[]).join(', ')}`);
      return;
    case 'user-joined':
      line(`sees ${String(event['nick'])} join #${String(event['room'])}`);
      return;
    case 'error':
      line(`error   ${String(event['message'])}`);
      return;
    case 'closed':
      line(`closed (${String(event['reason'])})`);
      return;
    default:
      return;
  }
}

async function main(): Promise<number> {
  const directory = await mkdtemp(path.join(tmpdir(), 'lanchat-demo-'));
  const participants: Participant[] = [];
  try {
    console.log('lanchat demo: a server and two clients on this machine, all encrypted.\n');
    const server = new Participant(
      'server',
      serverCli,
      [
        '--json',
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--data-dir',
        path.join(directory, 'server'),
      ],
      show,
    );
    participants.push(server);
    const port = (await server.waitFor('listening'))['port'] as number;
    const client = (name: string): Participant => {
      const participant = new Participant(
        name,
        clientCli,
        [
          '--json',
          'connect',
          `127.0.0.1:${port}`,
          '--name',
          name,
          '--config-dir',
          path.join(directory, name),
        ],
        show,
      );
      participants.push(participant);
      return participant;
    };
    const alice = client('alice');
    await alice.waitFor('connected');
    const bob = client('bob');
    await bob.waitFor('connected');
    await alice.waitFor('user-joined', (event) => event['nick'] === 'bob');

    alice.type('hi bob, welcome to the lobby');
    await bob.waitFor('message');
    bob.type('/msg alice thanks! this one is just for you');
    await alice.waitFor('private-message');
    bob.type('/join games');
    await bob.waitFor('joined', (event) => event['room'] === 'games');
    alice.type('/join games');
    await bob.waitFor('user-joined', (event) => event['room'] === 'games');
    alice.type('good game!');
    await bob.waitFor('message', (event) => event['room'] === 'games');

    // End of input is goodbye for a scripted client.
    alice.endInput();
    bob.endInput();
    const codes = [await alice.exited, await bob.exited];
    server.stop();
    codes.push(await server.exited);
    console.log(
      `\nexit codes: alice ${String(codes[0])}, bob ${String(codes[1])}, server ${String(codes[2])}`,
    );
    console.log(
      'Your own: `pnpm lanchat-server` in one terminal, `pnpm lanchat connect HOST` in others.',
    );
    return codes.every((code) => code === 0) ? 0 : 1;
  } finally {
    for (const participant of participants) participant.stop();
    await Promise.all(participants.map((participant) => participant.exited));
    await rm(directory, { recursive: true, force: true });
  }
}

process.exitCode = await main();
