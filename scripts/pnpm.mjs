// @ts-check
/**
 * Runs a workspace task with the pinned pnpm, so that `npm run quickstart` and `npm test` work on
 * a machine that has only Node.js and npm. Uses the installed pnpm when it is the pinned version
 * (package.json#packageManager), otherwise that version through `npx` (corepack is not relied on:
 * it is missing from some Node installs and cannot fetch pnpm behind some registries).
 *
 *   node scripts/pnpm.mjs quickstart   install, build, run the demo
 *   node scripts/pnpm.mjs test         install, then lint, typecheck, unit and property tests,
 *                                      the packaging check, the API docs (TypeDoc, warnings
 *                                      fail), and the formatting check
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const manifest = /** @type {{ packageManager: string }} */ (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
);
const version = manifest.packageManager.replace(/^pnpm@/, '');

const environment = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' };

/** @returns {string[]} the command that runs the pinned pnpm */
function pnpmCommand() {
  const probe = spawnSync('pnpm', ['--version'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    shell: process.platform === 'win32',
  });
  if (probe.status === 0 && probe.stdout.trim() === version) return ['pnpm'];
  console.log(`> pnpm ${version} is not installed; running it through npx`);
  return ['npx', '--yes', `pnpm@${version}`];
}

const pnpm = pnpmCommand();

/** Runs pnpm with the arguments, streaming its output; exits with its status on failure. */
function run(/** @type {string[]} */ ...args) {
  const [command, ...prefix] = /** @type {[string, ...string[]]} */ (pnpm);
  console.log(`> pnpm ${args.join(' ')}`);
  const result = spawnSync(command, [...prefix, ...args], {
    cwd: root,
    env: environment,
    stdio: ['ignore', 'inherit', 'inherit'],
    shell: process.platform === 'win32',
  });
  if (result.error) throw result.error;
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const task = process.argv[2];
const install = ['install', '--frozen-lockfile', '--config.confirmModulesPurge=false'];
switch (task) {
  case 'quickstart':
    run(...install);
    run('run', 'demo');
    break;
  case 'test':
    run(...install);
    // docs: TypeDoc fails on a warning, such as a public type that names one not exported.
    run('exec', 'turbo', 'run', 'lint', 'typecheck', 'test', 'test:package', 'docs');
    run('exec', 'eslint', 'scripts', 'eslint.config.js');
    run('exec', 'prettier', '--check', '.');
    break;
  default:
    console.error('usage: node scripts/pnpm.mjs quickstart|test');
    process.exit(2);
}
