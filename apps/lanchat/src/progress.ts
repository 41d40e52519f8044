/**
 * Progress bars of file transfers, drawn with cli-progress. The chat's input line owns the bottom
 * of the terminal, so each bar renders into a string (cli-progress's plain, non-TTY output into a
 * stream of our own) that the terminal UI shows in front of the prompt.
 *
 * @module
 */

import { Writable } from 'node:stream';
import cliProgress from 'cli-progress';
import type { OutputEvent } from './client-app.js';

/** Bytes as people read them: 1.5 MB, 320 kB (powers of 1000, like file managers). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]!}`;
}

/** Seconds as `1:05` or `2:03:45`. */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.round(seconds));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const rest = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${rest}` : `${minutes}:${rest}`;
}

type ProgressEvent = OutputEvent & { readonly event: 'transfer-progress' };

/** One bar: cli-progress renders its line into `line`. */
class Bar {
  line = '';
  readonly #bar: cliProgress.SingleBar;

  constructor(size: number, label: string) {
    // Not a TTY: cli-progress then writes whole lines, with no cursor movement, on each update.
    const sink = new Writable({
      write: (chunk: Buffer | string, _encoding, done) => {
        const text = chunk.toString().trim();
        if (text.length > 0) this.line = text;
        done();
      },
    });
    this.#bar = new cliProgress.SingleBar(
      {
        stream: sink,
        noTTYOutput: true,
        // No timer of its own: each update draws the line (below), and a bar never keeps the
        // process alive or redraws when nothing moved.
        notTTYSchedule: 2_147_483_647,
        synchronousUpdate: false,
        barsize: 14,
        hideCursor: false,
        format: `${label} {bar} {percentage}% {done} of {size} {rate} ETA {eta_text}`,
      },
      cliProgress.Presets.shades_classic,
    );
    this.#bar.start(size, 0, { done: '0 B', size: formatBytes(size), rate: '', eta_text: '?' });
  }

  update(event: ProgressEvent): void {
    this.#bar.update(event.bytes, {
      done: formatBytes(event.bytes),
      rate: `${formatBytes(event.rate)}/s`,
      eta_text: event.eta === undefined ? '?' : formatDuration(event.eta),
    });
    this.#bar.render();
  }

  stop(): void {
    this.#bar.stop();
  }
}

/** The bars of the transfers going, by transfer id. */
export class ProgressBars {
  readonly #bars = new Map<string, Bar>();

  /** Takes a transfer event; returns true when the status line changed. */
  handle(event: OutputEvent): boolean {
    switch (event.event) {
      case 'transfer-progress': {
        let bar = this.#bars.get(event.transfer);
        if (bar === undefined) {
          bar = new Bar(
            event.size,
            event.name.length > 16 ? `${event.name.slice(0, 15)}…` : event.name,
          );
          this.#bars.set(event.transfer, bar);
        }
        bar.update(event);
        return true;
      }
      case 'transfer-completed':
      case 'transfer-failed':
      case 'transfer-interrupted': {
        const bar = this.#bars.get(event.transfer);
        if (bar === undefined) return false;
        bar.stop();
        this.#bars.delete(event.transfer);
        return true;
      }
      default:
        return false;
    }
  }

  /** The status to show in front of the prompt: the first bar, and how many more. */
  status(): string {
    const [first, ...others] = [...this.#bars.values()];
    if (first === undefined) return '';
    return `[${first.line}${others.length > 0 ? ` +${others.length} more` : ''}] `;
  }

  /** Stops every bar (the client is leaving). */
  stopAll(): void {
    for (const bar of this.#bars.values()) bar.stop();
    this.#bars.clear();
  }
}
