import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

const require = createRequire(import.meta.url);

/** The built entry points of the apps, as installed in this workspace. */
export const SERVER_CLI = path.join(
  path.dirname(require.resolve('lanchat-server/package.json')),
  'dist',
  'cli.js',
);
export const CLIENT_CLI = path.join(
  path.dirname(require.resolve('lanchat/package.json')),
  'dist',
  'cli.js',
);

/** A JSON event line of a process. */
export type JsonEvent = Readonly<Record<string, unknown>> & { readonly event: string };

/**
 * A spawned process that prints one JSON object per line: its events are collected and can be
 * waited for with a deadline (never a fixed sleep).
 */
export class JsonProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly events: JsonEvent[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<number | null>;
  readonly #waiters = new Set<() => void>();

  /**
   * Runs `node script ...args`; `prefix` goes before it (`['ip', 'netns', 'exec', NAME]` runs
   * it in a network namespace: `ip` execs node, so the child is node itself).
   */
  constructor(
    script: string,
    args: readonly string[],
    env: NodeJS.ProcessEnv = {},
    prefix: readonly string[] = [],
  ) {
    const command = [...prefix, process.execPath, script, ...args];
    this.child = spawn(command[0]!, command.slice(1), {
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as JsonEvent);
      } catch {
        this.stderr.push(`(stdout, not JSON) ${line}`);
      }
      for (const waiter of this.#waiters) waiter();
    });
    createInterface({ input: this.child.stderr }).on('line', (line) => {
      this.stderr.push(line);
    });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code) => {
        resolve(code);
        for (const waiter of this.#waiters) waiter();
      });
    });
  }

  /** Events named `event`, in order. */
  ofType(event: string): JsonEvent[] {
    return this.events.filter((candidate) => candidate.event === event);
  }

  /** Resolves with the first event (seen or to come) named `event` that matches `predicate`. */
  waitFor(
    event: string,
    predicate: (candidate: JsonEvent) => boolean = () => true,
    timeout = 20_000,
  ): Promise<JsonEvent> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.events.find(
          (candidate) => candidate.event === event && predicate(candidate),
        );
        if (found !== undefined) {
          this.#waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        } else if (this.child.exitCode !== null) {
          this.#waiters.delete(check);
          clearTimeout(timer);
          reject(
            new Error(
              `exited (${this.child.exitCode}) before a ${event} event; ${this.#describe()}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`no ${event} event within ${timeout} ms; ${this.#describe()}`));
      }, timeout);
      this.#waiters.add(check);
      check();
    });
  }

  /** Writes a line to the process's standard input. */
  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  /** Ends standard input and resolves with the exit code. */
  async end(): Promise<number | null> {
    this.child.stdin.end();
    return this.exited;
  }

  /** Kills the process (if still running) and waits for it. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited;
  }

  #describe(): string {
    return `saw ${this.events.map((event) => event.event).join(', ')}; stderr: ${this.stderr.join(' | ')}`;
  }
}

/**
 * What the tests of one file leave behind, undone after each test: give {@link cleanUp} to
 * `afterEach`. Processes are killed, temporary folders removed, in reverse order.
 */
export class TestResources {
  readonly #cleanups: (() => unknown)[] = [];

  /** Runs `cleanup` after the current test. */
  add(cleanup: () => unknown): void {
    this.#cleanups.push(cleanup);
  }

  /** A temporary folder for the current test. */
  async workspace(): Promise<string> {
    const directory = await temporaryDirectory();
    this.add(directory.remove);
    return directory.path;
  }

  /** Kills `process` after the current test, if it still runs. */
  track(process: JsonProcess): JsonProcess {
    this.add(() => process.kill());
    return process;
  }

  /** Undoes everything added, newest first. */
  cleanUp = async (): Promise<void> => {
    for (const cleanup of this.#cleanups.splice(0).reverse()) await cleanup();
  };
}

/** A temporary directory, removed by the returned cleanup. */
export async function temporaryDirectory(): Promise<{ path: string; remove: () => Promise<void> }> {
  const directory = await mkdtemp(path.join(tmpdir(), 'lanchat-e2e-'));
  return { path: directory, remove: () => rm(directory, { recursive: true, force: true }) };
}

/** Starts `lanchat-server --json` on a free loopback port; resolves once it listens. */
export async function startServer(
  dataDir: string,
  extra: readonly string[] = [],
  port = 0,
): Promise<{ server: JsonProcess; port: number; fingerprint: string }> {
  const server = new JsonProcess(SERVER_CLI, [
    '--json',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--data-dir',
    dataDir,
    // LAN discovery on a port of its own and mDNS off, unless the test says otherwise: tests
    // never announce on the real discovery or mDNS ports.
    ...(extra.some((argument) => argument.includes('discovery')) ? [] : ['--discovery-port', '0']),
    ...(extra.includes('--mdns-port') ? [] : ['--mdns-port', '0']),
    ...extra,
  ]);
  const listening = await server.waitFor('listening');
  return {
    server,
    port: listening['port'] as number,
    fingerprint: listening['fingerprint'] as string,
  };
}

/** Starts `lanchat --json connect` as `name`, with its own config directory. */
export function startClient(
  port: number,
  configDir: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): JsonProcess {
  return new JsonProcess(
    CLIENT_CLI,
    ['--json', 'connect', `127.0.0.1:${port}`, '--config-dir', configDir, ...args],
    env,
  );
}

/** Starts `lanchat --json discover` on `discoveryPort`, listening for `timeout` ms. */
export function startDiscover(
  discoveryPort: string,
  timeout: number,
  configDir: string,
): JsonProcess {
  return new JsonProcess(CLIENT_CLI, [
    '--json',
    'discover',
    '--discovery-port',
    discoveryPort,
    '--timeout',
    String(timeout),
    '--config-dir',
    configDir,
  ]);
}
