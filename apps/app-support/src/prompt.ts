/**
 * Asking for a password on the terminal without echoing it.
 *
 * @module
 */

import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';

/**
 * Asks `question` on the terminal and reads an answer that is not echoed. Resolves `undefined`
 * when input ends first (Ctrl-D).
 */
export function promptHidden(
  question: string,
  input: NodeJS.ReadableStream = process.stdin,
  output: NodeJS.WritableStream = process.stderr,
): Promise<string | undefined> {
  let muted = false;
  // Everything readline echoes goes through here; once the question is out, nothing more does.
  const echo = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (!muted) output.write(chunk);
      callback();
    },
  });
  const readline = createInterface({ input, output: echo, terminal: true });
  return new Promise((resolve) => {
    let answered = false;
    readline.question(question, (answer) => {
      answered = true;
      output.write('\n');
      readline.close();
      resolve(answer);
    });
    muted = true;
    readline.once('close', () => {
      if (!answered) resolve(undefined);
    });
  });
}
