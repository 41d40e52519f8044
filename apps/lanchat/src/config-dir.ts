/**
 * Where the client keeps its configuration: the known-hosts file.
 *
 * @module
 */

import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';

/** The name of the client's folder inside the platform's configuration directory. */
export const CONFIG_DIR_NAME = 'lanchat';

/** The environment variables {@link resolveConfigDir} reads. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** What {@link resolveConfigDir} assumes about the machine; tests pass their own. */
export interface PlatformInfo {
  /** As `process.platform`. */
  readonly platform?: NodeJS.Platform;
  /** The user's home directory, as `os.homedir()`. */
  readonly homeDir?: string;
}

/**
 * The client's configuration directory, chosen in this order:
 *
 * 1. `explicit` (the `--config-dir` option), made absolute against the current directory;
 * 2. on Windows, `%APPDATA%\lanchat` (or `<home>\AppData\Roaming\lanchat`);
 * 3. elsewhere, `$XDG_CONFIG_HOME/lanchat` when `XDG_CONFIG_HOME` is set to an absolute path
 *    (the XDG Base Directory specification says to ignore a relative one);
 * 4. otherwise `~/.config/lanchat`.
 *
 * Nothing is created; see {@link ensureConfigDir}.
 */
export function resolveConfigDir(
  explicit?: string,
  env: Environment = process.env,
  { platform = process.platform, homeDir }: PlatformInfo = {},
): string {
  if (explicit !== undefined && explicit !== '') return path.resolve(explicit);
  const paths = platform === 'win32' ? path.win32 : path.posix;
  const home = homeDir ?? homedir();
  if (platform === 'win32') {
    const appData = env['APPDATA'];
    const base =
      appData !== undefined && paths.isAbsolute(appData)
        ? appData
        : paths.join(home, 'AppData', 'Roaming');
    return paths.join(base, CONFIG_DIR_NAME);
  }
  const xdgConfigHome = env['XDG_CONFIG_HOME'];
  const base =
    xdgConfigHome !== undefined && paths.isAbsolute(xdgConfigHome)
      ? xdgConfigHome
      : paths.join(home, '.config');
  return paths.join(base, CONFIG_DIR_NAME);
}

/**
 * Creates the configuration directory, and any missing parents, readable by its owner only
 * (mode 0700). An existing directory is left as it is.
 *
 * @returns `configDir`.
 */
export async function ensureConfigDir(configDir: string): Promise<string> {
  await mkdir(configDir, { recursive: true, mode: 0o700 });
  return configDir;
}
