import { InvalidArgumentError, LanchatError } from '@lanchat/core';
import { describe, expect, it } from 'vitest';
import * as errors from './errors.js';

const errorClasses = Object.entries(errors as Record<string, unknown>).filter(
  (entry): entry is [string, { readonly errorName: string; readonly prototype: unknown }] =>
    typeof entry[1] === 'function' && entry[1].prototype instanceof LanchatError,
);

describe('server errors', () => {
  it.each(errorClasses)('%s has a stable name equal to its export name', (name, errorClass) => {
    expect(errorClass.errorName).toBe(name);
    expect(Object.prototype.hasOwnProperty.call(errorClass, 'errorName')).toBe(true);
  });

  it('are LanchatErrors, recognised by isInstance', () => {
    const error = new errors.IdentityFileError('/data/identity.key', 'bad');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('IdentityFileError');
    expect(LanchatError.isInstance(error)).toBe(true);
    expect(errors.DataFileError.isInstance(error)).toBe(true);
    expect(errors.AccountsFileError.isInstance(error)).toBe(false);
    const weak = new errors.WeakPasswordError('too short');
    expect(InvalidArgumentError.isInstance(weak)).toBe(true);
    expect(errors.InvalidPasswordError.isInstance(weak)).toBe(true);
    expect(errors.PasswordTooLongError.isInstance(weak)).toBe(false);
  });

  it('formats modes as chmod does', () => {
    expect(errors.formatMode(0o100644)).toBe('0644');
    expect(errors.formatMode(0o7)).toBe('0007');
  });
});
