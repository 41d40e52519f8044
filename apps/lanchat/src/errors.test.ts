import { InvalidArgumentError, LanchatError } from '@lanchat/core';
import { describe, expect, it } from 'vitest';
import * as errors from './errors.js';

const errorClasses = Object.entries(errors as Record<string, unknown>).filter(
  (entry): entry is [string, { readonly errorName: string; readonly prototype: unknown }] =>
    typeof entry[1] === 'function' && entry[1].prototype instanceof LanchatError,
);

describe('client errors', () => {
  it('are exported', () => {
    expect(errorClasses.map(([name]) => name).sort()).toEqual([
      'ContactsFileError',
      'InvalidAddressError',
      'KnownHostsFileError',
    ]);
  });

  it.each(errorClasses)('%s has a stable name equal to its export name', (name, errorClass) => {
    expect(errorClass.errorName).toBe(name);
    expect(Object.prototype.hasOwnProperty.call(errorClass, 'errorName')).toBe(true);
  });

  it('are LanchatErrors, recognised by isInstance', () => {
    const error = new errors.InvalidAddressError('x:0', 'invalid port "0"');
    expect(error.input).toBe('x:0');
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect(LanchatError.isInstance(new errors.KnownHostsFileError('f', 2, 'bad'))).toBe(true);
    const contacts = new errors.ContactsFileError('/c/contacts.json', 'bad');
    expect(contacts.path).toBe('/c/contacts.json');
    expect(LanchatError.isInstance(contacts)).toBe(true);
  });
});
