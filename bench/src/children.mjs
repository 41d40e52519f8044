// @ts-check
/**
 * Child processes for the benchmarks that need more than one process (a server in one, its
 * clients in another): fork with an IPC channel, wait for typed messages with a deadline, and a
 * hard limit on each child's life that kills it, so that no run can hang.
 *
 * @module
 */

import { fork } from 'node:child_process';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * A message over IPC: every one carries a `type`.
 *
 * @typedef {{ type: string, [key: string]: unknown }} ChildMessage
 */

/**
 * @typedef {object} Child
 * @property {string} label
 * @property {import('node:child_process').ChildProcess} process
 * @property {(message: ChildMessage) => void} send
 * @property {(type: string, timeoutMs: number) => Promise<ChildMessage>} next the next message
 *   of that type (an `error` message from the child rejects, as does its exit or the deadline)
 * @property {(message: ChildMessage, type: string, timeoutMs: number) => Promise<ChildMessage>}
 *   ask sends a message and waits for the answer of that type
 * @property {(timeoutMs?: number) => Promise<void>} stop asks the child to stop, kills it if it
 *   has not exited in time
 * @property {() => void} kill
 */

/**
 * Forks `script` (a path relative to this folder) with an IPC channel. The child is killed after
 * `lifetimeMs` whatever happens, and when this process exits.
 *
 * @param {string} script
 * @param {{ label: string, args?: readonly string[], execArgv?: readonly string[], lifetimeMs: number }} options
 * @returns {Child}
 */
export function startChild(script, options) {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const child = fork(path, [...(options.args ?? [])], {
    execArgv: [...(options.execArgv ?? [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  const label = options.label;
  /** @type {ChildMessage[]} */
  const inbox = [];
  /** @type {Set<() => void>} */
  const waiters = new Set();
  /** @type {Error | undefined} */
  let failure;
  let exited = false;
  const wake = () => {
    for (const waiter of [...waiters]) waiter();
  };
  child.on('message', (message) => {
    inbox.push(/** @type {ChildMessage} */ (message));
    wake();
  });
  const killOnExit = () => {
    child.kill('SIGKILL');
  };
  process.on('exit', killOnExit);
  /** @type {Promise<void>} */
  const exit = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exited = true;
      process.off('exit', killOnExit);
      clearTimeout(lifetime);
      failure ??= new Error(
        `${label}: the child exited (code ${String(code)}, signal ${String(signal)})`,
      );
      wake();
      resolve();
    });
  });
  const lifetime = setTimeout(() => {
    failure = new Error(`${label}: killed after its ${options.lifetimeMs} ms limit`);
    child.kill('SIGKILL');
    wake();
  }, options.lifetimeMs);
  lifetime.unref();

  /** @param {ChildMessage} message */
  const send = (message) => {
    if (!exited && child.connected) child.send(message);
  };

  /**
   * @param {string} type
   * @param {number} timeoutMs
   * @returns {Promise<ChildMessage>}
   */
  const next = (type, timeoutMs) =>
    new Promise((resolve, reject) => {
      /** @type {NodeJS.Timeout | undefined} */
      let timer;
      const check = () => {
        const index = inbox.findIndex(
          (message) => message.type === type || message.type === 'error',
        );
        if (index >= 0) {
          const [message] = inbox.splice(index, 1);
          const found = /** @type {ChildMessage} */ (message);
          waiters.delete(check);
          clearTimeout(timer);
          if (found.type === 'error') reject(new Error(`${label}: ${String(found['message'])}`));
          else resolve(found);
          return;
        }
        if (failure !== undefined) {
          waiters.delete(check);
          clearTimeout(timer);
          reject(failure);
        }
      };
      timer = setTimeout(() => {
        waiters.delete(check);
        child.kill('SIGKILL');
        reject(new Error(`${label}: no "${type}" message within ${timeoutMs} ms; killed`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });

  return {
    label,
    process: child,
    send,
    next,
    ask: (message, type, timeoutMs) => {
      send(message);
      return next(type, timeoutMs);
    },
    stop: async (timeoutMs = 30_000) => {
      if (exited) return;
      send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exit;
      clearTimeout(timer);
    },
    kill: () => {
      if (!exited) child.kill('SIGKILL');
    },
  };
}

/**
 * True when the module at `url` is the script node was started with (not imported).
 *
 * @param {string} url `import.meta.url`
 */
export function isMainModule(url) {
  const script = process.argv[1];
  return script !== undefined && pathToFileURL(script).href === url;
}

/**
 * In a child: sends a message to the parent.
 *
 * @param {ChildMessage} message
 */
export function tellParent(message) {
  process.send?.(message);
}

/**
 * In a child: exits when the parent goes away or after `lifetimeMs`, and reports an uncaught
 * error to the parent (as an `error` message) before exiting, so the parent fails at once.
 *
 * @param {number} lifetimeMs
 */
export function guardChild(lifetimeMs) {
  process.on('disconnect', () => process.exit(0));
  setTimeout(() => {
    process.stderr.write(`child ${process.pid}: exiting after its ${lifetimeMs} ms limit\n`);
    process.exit(3);
  }, lifetimeMs).unref();
  /** @param {unknown} error */
  const fail = (error) => {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`child ${process.pid}: ${message}\n`);
    tellParent({ type: 'error', message });
    setTimeout(() => process.exit(1), 100).unref();
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
}
