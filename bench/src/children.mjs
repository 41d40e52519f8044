// @ts-check
/**
 * Child processes for the benchmarks that need more than one process (a server in one, its
 * clients in another): fork with an IPC channel, wait for typed messages with a deadline, and a
 * hard limit on each child's life that kills it, so that no run can hang; a group of children of
 * one script, stopped in order. In the child: tell the parent, fail, exit with the parent.
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
 * Children of one script, started by role and kept together, as the lanchat side of a benchmark
 * (a server, then its relay and clients). The script takes `ROLE [ARGS...] LIFETIME`.
 *
 * @typedef {object} ChildGroup
 * @property {(role: string, args: readonly string[]) => Child} start starts the script as `role`
 * @property {() => void} kill kills every child started so far (after a failure)
 * @property {() => Promise<void>} stop stops the children one by one, the last started first: the
 *   clients before the server they are connected to, so that it sees them leave rather than drop
 */

/**
 * @param {string} script a path relative to this folder
 * @param {{ label: (role: string) => string, execArgv?: (role: string) => readonly string[],
 *   lifetimeMs: number }} options the label and the node flags of each role's child
 * @returns {ChildGroup}
 */
export function childGroup(script, options) {
  /** @type {Child[]} */
  const children = [];
  return {
    start: (role, args) => {
      const child = startChild(script, {
        label: options.label(role),
        args: [role, ...args, String(options.lifetimeMs)],
        execArgv: options.execArgv?.(role) ?? [],
        lifetimeMs: options.lifetimeMs,
      });
      children.push(child);
      return child;
    },
    kill: () => {
      for (const child of children) child.kill();
    },
    stop: async () => {
      for (const child of [...children].reverse()) await child.stop();
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
    failChild('child', error);
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
}

/**
 * In a child: writes `error` to stderr (as `NAME PID: ...`), reports it to the parent (as an
 * `error` message, which fails the parent's wait at once) and exits soon after, with code 1.
 *
 * @param {string} name how the process names itself
 * @param {unknown} error
 */
export function failChild(name, error) {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`${name} ${process.pid}: ${message}\n`);
  tellParent({ type: 'error', message });
  setTimeout(() => process.exit(1), 100).unref();
}
