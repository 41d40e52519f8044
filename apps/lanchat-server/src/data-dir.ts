/**
 * Where the server keeps its data: the identity key and the account file.
 *
 * @module
 */

import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';

/** The name of the server's folder inside the platform's data directory. */
export const DATA_DIR_NAME = 'lanchat-server';

/** The environment variables {@link resolveDataDir} reads. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** What {@link resolveDataDir} assumes about the machine; tests pass their own. */
export interface PlatformInfo {
  /** As `process.platform`. */
  readonly platform?: NodeJS.Platform;
  /** The user's home directory, as `os.homedir()`. */
  readonly homeDir?: string;
}

/**
 * The server's data directory, chosen in this order:
 *
 * 1. `explicit` (the `--data-dir` option), made absolute against the current directory;
 * 2. on Windows, `%LOCALAPPDATA%\lanchat-server` (or `<home>\AppData\Local\lanchat-server`);
 * 3. elsewhere, `$XDG_DATA_HOME/lanchat-server` when `XDG_DATA_HOME` is set to an absolute path
 *    (the XDG Base Directory specification says to ignore a relative one);
 * 4. otherwise `~/.local/share/lanchat-server`.
 *
 * Nothing is created; see {@link ensureDataDir}.
 */
export function resolveDataDir(
  explicit?: string,
  env: Environment = process.env,
  { platform = process.platform, homeDir }: PlatformInfo = {},
): string {
  const paths = platform === 'win32' ? path.win32 : path.posix;
  if (explicit !== undefined && explicit !== '') return path.resolve(explicit);
  const home = homeDir ?? homedir();
  if (platform === 'win32') {
    const localAppData = env['LOCALAPPDATA'];
    const base =
      localAppData !== undefined && paths.isAbsolute(localAppData)
        ? localAppData
        : paths.join(home, 'AppData', 'Local');
    return paths.join(base, DATA_DIR_NAME);
  }
  const xdgDataHome = env['XDG_DATA_HOME'];
  const base =
    xdgDataHome !== undefined && paths.isAbsolute(xdgDataHome)
      ? xdgDataHome
      : paths.join(home, '.local', 'share');
  return paths.join(base, DATA_DIR_NAME);
}

/**
 * Creates the data directory, and any missing parents, readable by its owner only (mode 0700).
 * An existing directory is left as it is.
 *
 * @returns `dataDir`.
 */
export async function ensureDataDir(dataDir: string): Promise<string> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  return dataDir;
}
