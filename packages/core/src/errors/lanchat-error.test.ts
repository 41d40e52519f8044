import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import * as core from '../index.js';
import * as testing from '../testing/index.js';
import {
  InvalidArgumentError,
  InvalidStateError,
  LanchatError,
  LocalProtocolError,
  RemoteProtocolError,
} from './lanchat-error.js';
import { IncomingFrameTooLargeError, NotLanchatError } from './frame-errors.js';
import { TamperedError } from './integrity-errors.js';

/** Every error class the package exports, found by walking its exports. */
const exportedErrorClasses = Object.entries({ ...core, ...testing }).filter(
  (entry): entry is [string, typeof LanchatError] =>
    typeof entry[1] === 'function' &&
    (entry[1] === LanchatError || entry[1].prototype instanceof LanchatError),
);

describe('LanchatError hierarchy', () => {
  it('exports a good number of error classes', () => {
    expect(exportedErrorClasses.length).toBeGreaterThanOrEqual(15);
  });

  it.each(exportedErrorClasses)(
    '%s has a stable name equal to its export name',
    (exportName, errorClass) => {
      expect(errorClass.errorName).toBe(exportName);
      expect(Object.prototype.hasOwnProperty.call(errorClass, 'errorName')).toBe(true);
    },
  );

  it('gives every class a distinct name', () => {
    const names = exportedErrorClasses.map(([, errorClass]) => errorClass.errorName);
    expect(new Set(names).size).toBe(names.length);
  });

  it('sets name, message and cause, and stays a real Error', () => {
    const cause = new Error('root');
    const error = new InvalidStateError('not now', { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('InvalidStateError');
    expect(error.message).toBe('not now');
    expect(error.cause).toBe(cause);
    expect(String(error)).toBe('InvalidStateError: not now');
    expect(error.stack).toContain('InvalidStateError: not now');
    expect(new InvalidStateError('no cause')).not.toHaveProperty('cause');
  });

  it('isInstance follows the hierarchy', () => {
    const error = new IncomingFrameTooLargeError(10, 5);
    expect(IncomingFrameTooLargeError.isInstance(error)).toBe(true);
    expect(RemoteProtocolError.isInstance(error)).toBe(true);
    expect(LanchatError.isInstance(error)).toBe(true);
    expect(LocalProtocolError.isInstance(error)).toBe(false);
    expect(NotLanchatError.isInstance(error)).toBe(false);

    const local = new InvalidStateError('x');
    expect(LocalProtocolError.isInstance(local)).toBe(true);
    expect(RemoteProtocolError.isInstance(local)).toBe(false);
    expect(InvalidArgumentError.isInstance(local)).toBe(false);
  });

  it('isInstance refuses values that are not lanchat errors', () => {
    for (const value of [undefined, null, 0, 'TamperedError', new Error('x'), {}, () => 1]) {
      expect(LanchatError.isInstance(value)).toBe(false);
      expect(TamperedError.isInstance(value)).toBe(false);
    }
    // A plain object that only copies the name is not an instance.
    expect(TamperedError.isInstance({ name: 'TamperedError' })).toBe(false);
  });

  it('isInstance recognises errors from another copy of the package', async () => {
    vi.resetModules();
    const otherCopy = await import('./frame-errors.js');
    const otherBase = await import('./lanchat-error.js');
    expect(otherCopy.IncomingFrameTooLargeError).not.toBe(IncomingFrameTooLargeError);

    const foreign = new otherCopy.IncomingFrameTooLargeError(10, 5);
    expect(foreign).not.toBeInstanceOf(IncomingFrameTooLargeError);
    expect(IncomingFrameTooLargeError.isInstance(foreign)).toBe(true);
    expect(RemoteProtocolError.isInstance(foreign)).toBe(true);
    expect(LanchatError.isInstance(foreign)).toBe(true);
    expect(otherBase.LanchatError.isInstance(new TamperedError())).toBe(true);
    expect(otherBase.LocalProtocolError.isInstance(new TamperedError())).toBe(false);
  });

  it('serialises its name and fields to JSON, and no markers', () => {
    const error = new IncomingFrameTooLargeError(10, 5);
    expect(Object.keys(error)).toEqual(['name', 'length', 'maxLength']);
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: 'IncomingFrameTooLargeError',
      length: 10,
      maxLength: 5,
    });
  });

  it('lists every exported error in docs/errors.md', () => {
    const errorsDoc = readFileSync(new URL('../../../../docs/errors.md', import.meta.url), 'utf8');
    for (const [name] of exportedErrorClasses) {
      expect(errorsDoc, `docs/errors.md lacks ${name}`).toContain(`\`${name}\``);
    }
  });
});
