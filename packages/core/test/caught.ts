/** Runs `action` and returns what it threw, or `undefined` if it returned normally. */
export function caught(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}
