#!/usr/bin/env node
// @ts-check
/**
 * Packaging check of a published workspace package, seen the way a consumer sees it.
 *
 * It packs the package with `pnpm pack`, inspects the tarball, installs the tarball with npm into
 * a throwaway project, loads it there with `import` and (for a dual package) `require`, checks
 * that errors stay recognisable across the two copies a dual package can load, type-checks
 * TypeScript consumers against it, and runs publint and attw on the same tarball.
 *
 * Usage, after the package's build: node scripts/check-package.mjs [packageDir]
 *
 * All of it happens in a new directory under os.tmpdir(): walking up from there finds none of
 * the workspace's node_modules, so only what the tarball ships can resolve. That directory is
 * removed whatever the outcome.
 */

import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TIMEOUT_MS = 60_000;
const INSTALL_TIMEOUT_MS = 120_000;
const WORKSPACE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Captured output is read by people: no colour codes, no npm nagging. */
const TOOL_ENV = withoutKeys(
  {
    ...process.env,
    NO_COLOR: '1',
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  },
  ['FORCE_COLOR'],
);

/**
 * The consumer runs plain Node: NODE_OPTIONS (--conditions, --require) or NODE_PATH inherited from
 * the caller would change what resolves and loads.
 */
const CONSUMER_ENV = withoutKeys(TOOL_ENV, ['NODE_OPTIONS', 'NODE_PATH']);

// --- Checks specific to a package ---------------------------------------------------------------

/**
 * @typedef {typeof import('node:assert/strict')} Assert
 *
 * @typedef {object} PackageSmokeTests Checks of one package's behaviour, run in the consumer
 *   project. The functions are sent there as source text (`toString()`), so they may use only
 *   their parameters and globals, nothing from this module.
 * @property {string} covers What `build` checks, for the report.
 * @property {(pkg: any, assert: Assert) => void} build Run against the ESM and the CJS build.
 * @property {(esm: any, cjs: any, assert: Assert) => void} dualHazard Run with both builds loaded
 *   in one process.
 * @property {string} mts An ESM TypeScript consumer.
 * @property {string} cts A CommonJS TypeScript consumer.
 */

/**
 * @param {any} core The loaded @lanchat/core, ESM namespace or CommonJS exports.
 * @param {Assert} assert
 */
function smokeTestCore(core, assert) {
  for (const name of [
    'StreamFrameDecoder',
    'encodeStreamFrame',
    'md5',
    'hmacSha256',
    'LanchatError',
    'RemoteProtocolError',
    'IncomingFrameTooLargeError',
  ]) {
    assert.equal(typeof core[name], 'function', `${name} is not exported as a function or class`);
  }
  assert.ok(core.IncomingFrameTooLargeError.prototype instanceof core.RemoteProtocolError);
  assert.ok(core.RemoteProtocolError.prototype instanceof core.LanchatError);
  assert.ok(core.LanchatError.prototype instanceof Error);

  // Both decoder paths: frames whole inside one chunk, and frames assembled byte by byte.
  const text = new TextEncoder();
  const payloads = [Uint8Array.of(1, 2, 3), new Uint8Array(0), text.encode('hello, lan')];
  const wire = Uint8Array.from(payloads.flatMap((payload) => [...core.encodeStreamFrame(payload)]));
  for (const chunkSize of [wire.length, 1]) {
    const decoder = new core.StreamFrameDecoder();
    const frames = [];
    for (let offset = 0; offset < wire.length; offset += chunkSize) {
      decoder.receive(wire.subarray(offset, offset + chunkSize));
      for (let frame = decoder.nextFrame(); frame !== undefined; frame = decoder.nextFrame()) {
        frames.push([...frame]);
      }
    }
    decoder.finish();
    assert.deepEqual(
      frames,
      payloads.map((payload) => [...payload]),
      `chunks of ${chunkSize}`,
    );
    assert.equal(decoder.state, 'finished');
  }

  // Known answers, so that a build that mangled node:crypto imports would show.
  const hex = (/** @type {Uint8Array} */ bytes) => Buffer.from(bytes).toString('hex');
  assert.equal(hex(core.md5(text.encode('abc'))), '900150983cd24fb0d6963f7d28e17f72');
  assert.equal(
    hex(core.hmacSha256(text.encode('Jefe'), text.encode('what do ya want for nothing?'))),
    '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843', // RFC 4231, case 2
  );

  const decoder = new core.StreamFrameDecoder({ maxFrameLength: 2 });
  decoder.receive(core.encodeStreamFrame(Uint8Array.of(1, 2, 3)));
  assert.throws(
    () => decoder.nextFrame(),
    (/** @type {any} */ error) =>
      error instanceof core.IncomingFrameTooLargeError &&
      core.IncomingFrameTooLargeError.isInstance(error) &&
      core.LanchatError.isInstance(error) &&
      !core.LocalProtocolError.isInstance(error) &&
      error.name === 'IncomingFrameTooLargeError' &&
      error.length === 3 &&
      error.maxLength === 2,
  );
  assert.equal(decoder.state, 'failed');
}

/**
 * @param {any} esm @lanchat/core loaded with `import`.
 * @param {any} cjs @lanchat/core loaded with `require`.
 * @param {Assert} assert
 */
function dualHazardCore(esm, cjs, assert) {
  assert.notEqual(esm.LanchatError, cjs.LanchatError, 'import and require gave the same copy');

  /** @param {any} core */
  const provoke = (core) => {
    const decoder = new core.StreamFrameDecoder({ maxFrameLength: 2 });
    decoder.receive(core.encodeStreamFrame(Uint8Array.of(1, 2, 3)));
    try {
      decoder.nextFrame();
    } catch (error) {
      return error;
    }
    throw new Error('a frame over maxFrameLength was accepted');
  };
  const cases = [
    { error: provoke(cjs), from: 'CJS', other: esm, to: 'ESM' },
    { error: provoke(esm), from: 'ESM', other: cjs, to: 'CJS' },
    { error: new cjs.IncomingFrameTooLargeError(10, 4), from: 'CJS', other: esm, to: 'ESM' },
  ];
  for (const { error, from, other, to } of cases) {
    const seen = `an IncomingFrameTooLargeError of the ${from} copy, seen by the ${to} copy`;
    for (const name of ['IncomingFrameTooLargeError', 'RemoteProtocolError', 'LanchatError']) {
      assert.equal(other[name].isInstance(error), true, `${seen}: ${name}.isInstance() is false`);
    }
    // The reason isInstance() exists: instanceof cannot see across copies.
    for (const name of ['IncomingFrameTooLargeError', 'LanchatError']) {
      assert.equal(error instanceof other[name], false, `${seen}: instanceof ${name} is true`);
    }
    for (const name of ['LocalProtocolError', 'TruncatedFrameError', 'TamperedError']) {
      assert.equal(other[name].isInstance(error), false, `${seen}: ${name}.isInstance() is true`);
    }
  }
  // Recognition rests on the registry symbols, not on a look-alike name.
  for (const value of [new Error('x'), { name: 'IncomingFrameTooLargeError' }, null, 'x']) {
    assert.equal(esm.IncomingFrameTooLargeError.isInstance(value), false);
  }
}

// The `@ts-expect-error` lines fail the check if the declarations resolve to `any`.
const CORE_MTS = `import {
  IncomingFrameTooLargeError,
  LanchatError,
  StreamFrameDecoder,
  type StreamFrameDecoderState,
  encodeStreamFrame,
  hmacSha256,
  md5,
} from '@lanchat/core';

const decoder = new StreamFrameDecoder({ maxFrameLength: 1024 });
decoder.receive(encodeStreamFrame(Uint8Array.of(1, 2, 3)));
const frame: Uint8Array | undefined = decoder.nextFrame();
const state: StreamFrameDecoderState = decoder.state;
const tag: Uint8Array = hmacSha256(Uint8Array.of(7), md5(frame ?? new Uint8Array(0)));

// isInstance() must narrow unknown, or maxLength would not type-check.
export function limitOf(error: unknown): number | undefined {
  if (IncomingFrameTooLargeError.isInstance(error)) return error.maxLength;
  if (LanchatError.isInstance(error)) return error.name.length;
  return undefined;
}

// @ts-expect-error maxFrameLength is a number.
export const wrong = new StreamFrameDecoder({ maxFrameLength: 'large' });

export const results = [state, tag.length] as const;
`;

const CORE_CTS = `import core = require('@lanchat/core');

const decoder = new core.StreamFrameDecoder({ maxFrameLength: 1024 });
decoder.receive(core.encodeStreamFrame(Uint8Array.of(1, 2, 3)));
const frame: Uint8Array | undefined = decoder.nextFrame();
const state: core.StreamFrameDecoderState = decoder.state;
const tag: Uint8Array = core.hmacSha256(Uint8Array.of(7), core.md5(frame ?? new Uint8Array(0)));

// isInstance() must narrow unknown, or maxLength would not type-check.
function limitOf(error: unknown): number | undefined {
  if (core.IncomingFrameTooLargeError.isInstance(error)) return error.maxLength;
  if (core.LanchatError.isInstance(error)) return error.name.length;
  return undefined;
}

// @ts-expect-error maxFrameLength is a number.
const wrong = new core.StreamFrameDecoder({ maxFrameLength: 'large' });

export = { limitOf, wrong, results: [state, tag.length] };
`;

/** @type {Record<string, PackageSmokeTests | undefined>} */
const SMOKE_TESTS = {
  '@lanchat/core': {
    covers: 'frame round trip, MD5 and HMAC known answers, error classes',
    build: smokeTestCore,
    dualHazard: dualHazardCore,
    mts: CORE_MTS,
    cts: CORE_CTS,
  },
};

/**
 * A strict consumer on Node's own module system. `types: []` because the throwaway project has no
 * @types/node: the declarations must not need it. skipLibCheck is off so that errors inside the
 * shipped .d.ts files count too.
 */
const TS_CONSUMER_OPTIONS = {
  module: 'nodenext',
  moduleResolution: 'nodenext',
  target: 'es2022',
  lib: ['es2022'],
  types: [],
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  verbatimModuleSyntax: true,
  skipLibCheck: false,
  noEmit: true,
};

// --- Reporting and processes --------------------------------------------------------------------

/** @type {string[]} */
const failures = [];

/** @param {string} message @param {string} [details] */
function pass(message, details) {
  console.log(`ok    ${message}`);
  if (details) console.log(indent(details));
}

/** @param {string} message @param {string} [details] */
function fail(message, details) {
  failures.push(message);
  console.log(`FAIL  ${message}`);
  if (details) console.log(indent(details));
}

/** @param {string} message */
function skip(message) {
  console.log(`skip  ${message}`);
}

/** @param {string} text */
function indent(text) {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => `      ${line}`)
    .join('\n');
}

/** A child process was stopped by SIGINT or SIGTERM: stop checking, but still clean up. */
class Interrupted extends Error {}

/**
 * @typedef {object} RunResult
 * @property {boolean} ok
 * @property {string} problem Why it failed; empty when ok.
 * @property {string} stdout
 * @property {string} report The command line with its stdout and stderr, for failure reports.
 */

/**
 * @param {string} command
 * @param {readonly string[]} args
 * @param {{ cwd: string, env?: NodeJS.ProcessEnv, timeoutMs?: number }} options
 * @returns {RunResult}
 */
function run(command, args, { cwd, env = TOOL_ENV, timeoutMs = TIMEOUT_MS }) {
  const result = spawnSync(command, args, {
    cwd,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  const error = /** @type {NodeJS.ErrnoException | undefined} */ (result.error);
  const timedOut = error?.code === 'ETIMEDOUT';
  // npm and pnpm catch SIGINT and exit with 128 + signal number instead of dying by the signal.
  const stopped =
    result.signal === 'SIGINT' ||
    result.signal === 'SIGTERM' ||
    result.status === 130 ||
    result.status === 143;
  if (!timedOut && stopped) {
    throw new Interrupted(
      `${path.basename(command)} was stopped (${String(result.signal ?? result.status)})`,
    );
  }
  let problem = '';
  if (timedOut) problem = `timed out after ${timeoutMs / 1000} s`;
  else if (error) problem = `could not run: ${error.message}`;
  else if (result.status !== 0) problem = `exited with ${String(result.status ?? result.signal)}`;
  const stdout = result.stdout ?? '';
  const output = [stdout, result.stderr ?? '']
    .map((text) => text.trim())
    .filter(Boolean)
    .join('\n');
  return {
    ok: problem === '',
    problem,
    stdout,
    report: `$ ${[command, ...args].join(' ')}\n${output}`,
  };
}

/**
 * @param {NodeJS.ProcessEnv} env
 * @param {readonly string[]} keys
 */
function withoutKeys(env, keys) {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !keys.includes(key)));
}

/**
 * The binary from the package's devDependencies, else from the workspace root's.
 * @param {string} name
 * @param {string} packageDir
 */
function findBin(name, packageDir) {
  return [packageDir, WORKSPACE_ROOT]
    .map((dir) => path.join(dir, 'node_modules', '.bin', name))
    .find((file) => existsSync(file));
}

/** @param {string} packageDir */
function findTsc(packageDir) {
  for (const dir of [packageDir, WORKSPACE_ROOT]) {
    try {
      return createRequire(path.join(dir, 'package.json')).resolve('typescript/bin/tsc');
    } catch {
      // Not installed there; try the next place.
    }
  }
  return undefined;
}

// --- package.json ------------------------------------------------------------------------------

/**
 * @typedef {object} Manifest
 * @property {string} name
 * @property {string} version
 * @property {string} [type]
 * @property {string} [main]
 * @property {string} [types]
 * @property {string} [typings]
 * @property {string} [license]
 * @property {unknown} [module]
 * @property {unknown} [bin]
 * @property {unknown} [exports]
 */

/** @param {string} text @param {string} where @returns {Manifest} */
function parseManifest(text, where) {
  const manifest = JSON.parse(text);
  if (typeof manifest?.name !== 'string' || typeof manifest.version !== 'string') {
    throw new Error(`${where} has no name or version`);
  }
  return manifest;
}

/** @param {unknown} value @returns {value is Record<string, unknown>} */
function isObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The export of the package root: `exports` may be a subpath map, the conditions of "." or a
 * bare path.
 * @param {unknown} exportsField
 */
function rootExport(exportsField) {
  if (isObject(exportsField) && Object.keys(exportsField).some((key) => key.startsWith('.'))) {
    return exportsField['.'];
  }
  return exportsField;
}

/**
 * Resolves an exports target as Node and TypeScript do: the first key, in object order, that is
 * an active condition or "default".
 * @param {unknown} target
 * @param {readonly string[]} conditions
 * @returns {string | undefined}
 */
function pickTarget(target, conditions) {
  if (typeof target === 'string') return target;
  const candidates = Array.isArray(target)
    ? target
    : isObject(target)
      ? Object.entries(target)
          .filter(([key]) => key === 'default' || conditions.includes(key))
          .map(([, value]) => value)
      : [];
  for (const candidate of candidates) {
    const picked = pickTarget(candidate, conditions);
    if (picked !== undefined) return picked;
  }
  return undefined;
}

/**
 * The file Node loads for `import` or `require` of the package root.
 * @param {Manifest} manifest
 * @param {'import' | 'require'} kind
 */
function runtimeTarget(manifest, kind) {
  if (manifest.exports === undefined) return manifest.main ?? './index.js';
  return pickTarget(rootExport(manifest.exports), ['node', kind]);
}

/**
 * The declaration file TypeScript (module nodenext) reads for `import` or `require`, if any.
 * @param {Manifest} manifest
 * @param {'import' | 'require'} kind
 * @param {readonly string[]} files The tarball's files.
 */
function typesTarget(manifest, kind, files) {
  const target =
    manifest.exports === undefined
      ? (manifest.types ?? manifest.typings ?? manifest.main ?? './index.js')
      : pickTarget(rootExport(manifest.exports), ['types', 'node', kind]);
  if (target === undefined || /\.d\.[cm]?ts$/.test(target)) return target;
  // Without a types condition, TypeScript looks for declarations next to the JavaScript file.
  const sibling = target.replace(/\.([cm]?)js$/, '.d.$1ts');
  return inTarball(sibling, files) ? sibling : undefined;
}

/**
 * @param {string} target
 * @param {Manifest} manifest
 * @returns {'ESM' | 'CJS' | 'not JavaScript'}
 */
function moduleFormat(target, manifest) {
  if (target.endsWith('.mjs')) return 'ESM';
  if (target.endsWith('.cjs')) return 'CJS';
  if (target.endsWith('.js')) return manifest.type === 'module' ? 'ESM' : 'CJS';
  return 'not JavaScript';
}

/**
 * @typedef {object} EntryPoints
 * @property {string | undefined} importTarget
 * @property {string | undefined} requireTarget
 * @property {boolean} dual `import` and `require` have targets of their own: an ESM and a CJS
 *   build, if the package is right.
 * @property {boolean} requirable `require` is meant to work: the package is dual, or its one
 *   target is CommonJS.
 */

/** @param {Manifest} manifest @returns {EntryPoints} */
function entryPoints(manifest) {
  const importTarget = runtimeTarget(manifest, 'import');
  const requireTarget = runtimeTarget(manifest, 'require');
  const dual =
    importTarget !== undefined && requireTarget !== undefined && importTarget !== requireTarget;
  const requirable =
    dual || (requireTarget !== undefined && moduleFormat(requireTarget, manifest) === 'CJS');
  return { importTarget, requireTarget, dual, requirable };
}

/**
 * Every path package.json points at, with where it says so.
 * @param {Manifest} manifest
 */
function declaredPaths(manifest) {
  /** @type {{ where: string, target: string }[]} */
  const found = [];
  /** @param {unknown} value @param {string} where */
  const walk = (value, where) => {
    if (typeof value === 'string') found.push({ where, target: value });
    else if (Array.isArray(value)) value.forEach((item, index) => walk(item, `${where}[${index}]`));
    else if (isObject(value)) {
      for (const [key, item] of Object.entries(value))
        walk(item, `${where}[${JSON.stringify(key)}]`);
    }
  };
  for (const field of /** @type {const} */ (['main', 'module', 'types', 'typings', 'bin'])) {
    walk(manifest[field], field);
  }
  walk(manifest.exports, 'exports');
  return found;
}

/**
 * @param {string} target A path from package.json, possibly an exports pattern with `*`.
 * @param {readonly string[]} files The tarball's files, `package/...`.
 */
function inTarball(target, files) {
  const wanted = path.posix.join('package', target);
  if (wanted.includes('*')) {
    const escaped = wanted.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    const pattern = new RegExp(`^${escaped.join('.+')}$`);
    return files.some((file) => pattern.test(file));
  }
  if (wanted.endsWith('/')) return files.some((file) => file.startsWith(wanted));
  return files.includes(wanted);
}

// --- The checks --------------------------------------------------------------------------------

/**
 * @param {string} packageDir
 * @param {string} workDir
 * @returns {string | undefined} The tarball.
 */
function pack(packageDir, workDir) {
  const packDir = path.join(workDir, 'pack');
  mkdirSync(packDir);
  const result = run('pnpm', ['pack', '--pack-destination', packDir], { cwd: packageDir });
  const tarballs = readdirSync(packDir).filter((file) => file.endsWith('.tgz'));
  if (!result.ok || tarballs.length !== 1) {
    fail(`pnpm pack ${result.problem || `made ${tarballs.length} tarballs`}`, result.report);
    return undefined;
  }
  return path.join(packDir, /** @type {string} */ (tarballs[0]));
}

/**
 * @param {string} packageDir
 * @param {Manifest} packed
 * @param {readonly string[]} files
 */
function checkContents(packageDir, packed, files) {
  const paths = declaredPaths(packed);
  const missing = paths.filter(({ target }) => !inTarball(target, files));
  if (paths.length === 0) fail('package.json has no exports, main or types');
  else if (missing.length > 0) {
    fail(
      'package.json points at files that are not in the tarball',
      missing.map(({ where, target }) => `${where}: ${target}`).join('\n'),
    );
  } else pass(`all ${paths.length} paths in exports, main, module and types are in the tarball`);

  const { importTarget, requireTarget, dual } = entryPoints(packed);
  const describe = (/** @type {string | undefined} */ target) =>
    target === undefined ? 'nothing' : `${target} (${moduleFormat(target, packed)})`;
  const summary = `import → ${describe(importTarget)}, require → ${describe(requireTarget)}`;
  // Separate import and require targets only make sense as an ESM and a CJS build.
  const misfit =
    dual &&
    (moduleFormat(importTarget ?? '', packed) !== 'ESM' ||
      moduleFormat(requireTarget ?? '', packed) !== 'CJS');
  if (importTarget === undefined) fail(`entry points: ${summary}`);
  else if (misfit) fail(`entry points are not an ESM and a CJS build: ${summary}`);
  else pass(`entry points: ${summary}`);

  if (files.some((file) => /^package\/readme(\.[^/]*)?$/i.test(file))) {
    pass('README is in the tarball');
  } else {
    fail(
      `README.md is not in the tarball: add ${path.join(packageDir, 'README.md')} ` +
        '(it is the package page on the registry; pnpm pack includes it automatically)',
    );
  }

  if (files.some((file) => /^package\/licen[cs]e(\.[^/]*)?$/i.test(file))) {
    pass('LICENSE is in the tarball');
  } else {
    fail(
      `LICENSE is not in the tarball although package.json says "license": ` +
        `${JSON.stringify(packed.license ?? null)}: add ${path.join(packageDir, 'LICENSE')}, or ` +
        'a LICENSE at the workspace root, which pnpm pack copies into packages that have none',
    );
  }

  const testFiles = files.filter((file) =>
    /^package\/(.*\/)?(test|tests|__tests__)\/|\.(test|spec)\.[^/]*$/.test(file),
  );
  if (testFiles.length === 0) pass('no test files in the tarball');
  else fail('test files are in the tarball (exclude them in "files")', testFiles.join('\n'));
}

/**
 * @typedef {object} Consumer
 * @property {string} dir The throwaway project.
 * @property {string} installedDir Where the package landed in its node_modules.
 */

/**
 * @param {string} tarball
 * @param {Manifest} packed
 * @param {string} workDir
 * @returns {Consumer | undefined}
 */
function install(tarball, packed, workDir) {
  const dir = path.join(workDir, 'consumer');
  mkdirSync(dir);
  const manifest = { name: 'package-check-consumer', version: '0.0.0', private: true };
  writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const result = run('npm', ['install', tarball, '--no-audit', '--no-fund', '--no-package-lock'], {
    cwd: dir,
    timeoutMs: INSTALL_TIMEOUT_MS,
  });
  const installedDir = path.join(dir, 'node_modules', ...packed.name.split('/'));
  if (!result.ok || !existsSync(path.join(installedDir, 'package.json'))) {
    fail(
      `npm install of the tarball ${result.problem || `did not create ${installedDir}`}`,
      result.report,
    );
    return undefined;
  }
  pass('npm install of the tarball into a new project outside the workspace');
  return { dir, installedDir };
}

/**
 * @param {Consumer} consumer
 * @param {string} fileName
 * @param {string[]} lines
 */
function runInConsumer(consumer, fileName, lines) {
  writeFileSync(path.join(consumer.dir, fileName), `${lines.join('\n')}\n`);
  return run(process.execPath, [fileName], { cwd: consumer.dir, env: CONSUMER_ENV });
}

/**
 * The named exports a consumer script printed as its last line.
 * @param {string} stdout
 */
function exportNames(stdout) {
  const names = /** @type {string[]} */ (JSON.parse(stdout.trim().split('\n').at(-1) ?? '[]'));
  // CommonJS output may carry an __esModule flag; neither it nor a default is a named export.
  return names.filter((name) => name !== '__esModule' && name !== 'default').sort();
}

/**
 * @param {Consumer} consumer
 * @param {Manifest} packed
 * @param {PackageSmokeTests | undefined} smoke
 */
function checkRuntime(consumer, packed, smoke) {
  const { importTarget, requireTarget, requirable, dual } = entryPoints(packed);
  const name = JSON.stringify(packed.name);
  const covers = smoke ? `; ${smoke.covers}` : '';
  /** @param {string} target */
  const expected = (target) => JSON.stringify(path.join(consumer.installedDir, target));
  /** @param {PackageSmokeTests['build']} build */
  const callBuild = (build) => [`(${build.toString()})(pkg, assert);`];

  /** @type {string[] | undefined} */
  let importNames;
  if (importTarget !== undefined) {
    const build = `${moduleFormat(importTarget, packed)} build ${importTarget}`;
    const result = runInConsumer(consumer, 'check-import.mjs', [
      "import assert from 'node:assert/strict';",
      "import { fileURLToPath } from 'node:url';",
      `assert.equal(fileURLToPath(import.meta.resolve(${name})), ${expected(importTarget)});`,
      `const pkg = await import(${name});`,
      ...(smoke ? callBuild(smoke.build) : []),
      'console.log(JSON.stringify(Object.keys(pkg)));',
    ]);
    if (result.ok) {
      importNames = exportNames(result.stdout);
      pass(`import works (${build}: ${importNames.length} named exports${covers})`);
    } else fail(`import (${build}) ${result.problem}`, result.report);
  }

  if (!requirable || requireTarget === undefined) {
    skip('require: the package has no CommonJS build');
    return;
  }
  const build = `${moduleFormat(requireTarget, packed)} build ${requireTarget}`;
  const result = runInConsumer(consumer, 'check-require.cjs', [
    "'use strict';",
    "const assert = require('node:assert/strict');",
    `assert.equal(require.resolve(${name}), ${expected(requireTarget)});`,
    `const pkg = require(${name});`,
    ...(smoke ? callBuild(smoke.build) : []),
    'console.log(JSON.stringify(Object.keys(pkg)));',
  ]);
  /** @type {string[] | undefined} */
  let requireNames;
  if (result.ok) {
    requireNames = exportNames(result.stdout);
    pass(`require works (${build}: ${requireNames.length} named exports${covers})`);
  } else fail(`require (${build}) ${result.problem}`, result.report);

  if (importNames && requireNames && importTarget !== requireTarget) {
    const onlyImport = importNames.filter((item) => !requireNames.includes(item));
    const onlyRequire = requireNames.filter((item) => !importNames.includes(item));
    if (onlyImport.length === 0 && onlyRequire.length === 0) {
      pass('import and require give the same named exports');
    } else {
      fail(
        'import and require give different named exports',
        `only import: ${onlyImport.join(', ') || '-'}\nonly require: ${onlyRequire.join(', ') || '-'}`,
      );
    }
  }

  if (!dual) return;
  if (!smoke) {
    skip(`dual package hazard: no checks for ${packed.name} in scripts/check-package.mjs`);
    return;
  }
  const hazard = runInConsumer(consumer, 'check-dual-hazard.mjs', [
    "import assert from 'node:assert/strict';",
    "import { createRequire } from 'node:module';",
    `const esm = await import(${name});`,
    `const cjs = createRequire(import.meta.url)(${name});`,
    `(${smoke.dualHazard.toString()})(esm, cjs, assert);`,
  ]);
  if (hazard.ok) {
    pass(
      'dual package hazard: with the ESM and CJS copies loaded together, isInstance() ' +
        'recognises errors of the other copy (instanceof does not)',
    );
  } else fail(`dual package hazard ${hazard.problem}`, hazard.report);
}

/**
 * @param {Consumer} consumer
 * @param {Manifest} packed
 * @param {readonly string[]} files
 * @param {string} packageDir
 * @param {PackageSmokeTests | undefined} smoke
 */
function checkTypeScript(consumer, packed, files, packageDir, smoke) {
  const tsc = findTsc(packageDir);
  const { requirable } = entryPoints(packed);
  const name = JSON.stringify(packed.name);
  /** @type {{ kind: 'import' | 'require', file: string, source: string }[]} */
  const consumers = [
    {
      kind: 'import',
      file: 'consumer.mts',
      source: smoke?.mts ?? `import * as pkg from ${name};\n\nexport const loaded: object = pkg;\n`,
    },
  ];
  if (requirable) {
    consumers.push({
      kind: 'require',
      file: 'consumer.cts',
      source:
        smoke?.cts ??
        `import pkg = require(${name});\n\nconst loaded: object = pkg;\nexport = loaded;\n`,
    });
  }

  for (const { kind, file, source } of consumers) {
    const format = kind === 'import' ? 'ESM' : 'CommonJS';
    const label = `TypeScript ${format} consumer (${file}, nodenext, strict)`;
    const typesFile = typesTarget(packed, kind, files);
    if (typesFile === undefined) {
      skip(`${label}: the package ships no declarations for ${kind}`);
      continue;
    }
    if (tsc === undefined) {
      fail(`${label}: typescript is not installed in ${packageDir} or the workspace root`);
      continue;
    }
    const tsconfig = `tsconfig.${kind}.json`;
    const config = { compilerOptions: TS_CONSUMER_OPTIONS, files: [file] };
    writeFileSync(path.join(consumer.dir, file), source);
    writeFileSync(path.join(consumer.dir, tsconfig), `${JSON.stringify(config, null, 2)}\n`);
    const options = { cwd: consumer.dir, env: CONSUMER_ENV };
    const result = run(process.execPath, [tsc, '-p', tsconfig], options);
    if (!result.ok) {
      fail(`${label} ${result.problem}`, result.report);
      continue;
    }
    // A clean compile proves little if TypeScript read other declarations than intended.
    const listed = run(process.execPath, [tsc, '-p', tsconfig, '--listFilesOnly'], options);
    const wanted = path.join(consumer.installedDir, typesFile).split(path.sep).join('/');
    if (listed.stdout.split('\n').some((line) => line.trim() === wanted)) {
      pass(`${label} type-checks against ${typesFile}`);
    } else {
      const read = listed.stdout.split('\n').filter((line) => !line.includes('/typescript/lib/'));
      fail(`${label} did not read ${typesFile}`, `It read:\n${read.join('\n')}`);
    }
  }
}

/**
 * @param {string} tarball
 * @param {string} packageDir
 * @param {string} workDir
 */
function checkPublint(tarball, packageDir, workDir) {
  const publint = findBin('publint', packageDir);
  if (publint === undefined) {
    fail('publint is not installed: add it to the devDependencies of the package');
    return;
  }
  const result = run(publint, ['run', tarball, '--strict'], { cwd: workDir });
  // Suggestions do not fail the check but are worth seeing.
  const messages = result.stdout
    .split('\n')
    .filter(
      (line) => line.trim() && !/^(Running publint|Unpacking|Packing|Linting|All good)/.test(line),
    )
    .join('\n');
  if (result.ok) pass('publint --strict on the tarball', messages);
  else fail(`publint --strict on the tarball ${result.problem}`, result.report);
}

/**
 * @param {string} tarball
 * @param {Manifest} packed
 * @param {string} packageDir
 * @param {string} workDir
 */
function checkAttw(tarball, packed, packageDir, workDir) {
  const attw = findBin('attw', packageDir);
  if (attw === undefined) {
    fail('attw is not installed: add @arethetypeswrong/cli to the devDependencies of the package');
    return;
  }
  // "strict" requires node10, node16 from CJS, node16 from ESM and bundler all to resolve correct
  // types; an ESM-only package is excused the CommonJS modes. The options are all given here, and
  // attw runs outside the package, so that no .attw.json can loosen them. DefinitelyTyped is left
  // out: the package ships its own types, and looking up @types would need the registry.
  const profile = entryPoints(packed).dual ? 'strict' : 'esm-only';
  const args = [tarball, '--profile', profile, '--no-definitely-typed'];
  const result = run(attw, [...args, '--format', 'json'], { cwd: workDir });
  /** @type {any} */
  let analysis;
  try {
    analysis = JSON.parse(result.stdout).analysis;
  } catch {
    analysis = undefined;
  }
  const problems = analysis?.problems;
  if (result.ok && Array.isArray(problems) && problems.length === 0) {
    const prefix = `/node_modules/${packed.name}/`;
    const summary = Object.entries(analysis.entrypoints ?? {}).map(
      ([subpath, entry]) =>
        `${subpath}: ` +
        Object.entries(entry.resolutions ?? {})
          .map(
            ([mode, { resolution }]) =>
              `${mode} → ${String(resolution?.fileName).replace(prefix, '')}`,
          )
          .join(', '),
    );
    pass(`attw --profile ${profile}: no problems`, summary.join('\n'));
    return;
  }
  // The JSON says what failed; the table says it to a person.
  const table = run(attw, [...args, '--format', 'ascii'], { cwd: workDir });
  const count = Array.isArray(problems) ? `${problems.length} problem(s)` : result.problem;
  fail(`attw --profile ${profile}: ${count}`, table.report);
}

/**
 * @param {string} packageDir
 * @param {string} workDir
 */
function checkPackage(packageDir, workDir) {
  const tarball = pack(packageDir, workDir);
  if (tarball === undefined) return;

  const listing = run('tar', ['-tzf', tarball], { cwd: workDir });
  const files = listing.stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.endsWith('/'));
  if (!listing.ok || !files.includes('package/package.json')) {
    fail('the tarball has no package/package.json', listing.report);
    return;
  }
  pass(`pnpm pack: ${path.basename(tarball)}, ${files.length} files`);

  // pnpm pack applies publishConfig overrides, so the tarball's package.json is the one to check.
  const manifestRead = run('tar', ['-xOzf', tarball, 'package/package.json'], { cwd: workDir });
  const packed = parseManifest(manifestRead.stdout, `package.json in ${tarball}`);
  const smoke = SMOKE_TESTS[packed.name];

  checkContents(packageDir, packed, files);
  const consumer = install(tarball, packed, workDir);
  if (consumer) {
    checkRuntime(consumer, packed, smoke);
    checkTypeScript(consumer, packed, files, packageDir, smoke);
  }
  checkPublint(tarball, packageDir, workDir);
  checkAttw(tarball, packed, packageDir, workDir);
}

function main() {
  const packageDir = path.resolve(process.argv[2] ?? '.');
  const manifestPath = path.join(packageDir, 'package.json');
  if (!existsSync(manifestPath)) {
    fail(`no package.json in ${packageDir}`);
    return;
  }
  const manifest = parseManifest(readFileSync(manifestPath, 'utf8'), manifestPath);
  console.log(`Packaging check of ${manifest.name}@${manifest.version} in ${packageDir}`);
  const distDir = path.join(packageDir, 'dist');
  if (!existsSync(distDir) || readdirSync(distDir).length === 0) {
    fail(`${distDir} is missing or empty: build first (pnpm --filter ${manifest.name} build)`);
    return;
  }
  pass('dist/ is built');

  const workDir = realpathSync(mkdtempSync(path.join(tmpdir(), 'check-package-')));
  try {
    checkPackage(packageDir, workDir);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

// Without a listener, Ctrl-C or a cancelled CI job would end this process before the `finally`
// that removes the temp dir. With one, the signal that reaches the running child too (Ctrl-C goes
// to the whole process group) ends that child, run() throws Interrupted, and the cleanup happens on
// the way out. A signal sent to this process alone waits for the run to end: it is bounded by the
// child timeouts.
/** @type {NodeJS.Signals | undefined} */
let stopSignal;
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.on(signal, () => {
    // run() handles a signal that also reached the child; remember it so that the run can never
    // end with success after being asked to stop.
    stopSignal = signal;
  });
}

try {
  main();
  console.log(
    failures.length === 0 ? '\nAll checks passed.' : `\n${failures.length} check(s) failed.`,
  );
  if (failures.length > 0) process.exitCode = 1;
  if (stopSignal !== undefined) {
    console.log(`FAIL  stopped by ${stopSignal}`);
    process.exitCode = stopSignal === 'SIGINT' ? 130 : 143;
  }
} catch (error) {
  if (!(error instanceof Interrupted)) throw error;
  console.log(`FAIL  interrupted: ${error.message}`);
  process.exitCode = 130;
}
