/**
 * The schemas of control messages (docs/protocol.md, section 8.2), shared by the chat session and
 * the peer-to-peer protocol: a strict check of a decoded MessagePack map, and the one decoder and
 * encoder of the process. Internal: not exported from the package.
 *
 * @module
 */

import { Decoder, Encoder } from '@msgpack/msgpack';
import { MalformedSessionMessageError } from '../errors/session-errors.js';
import { MAX_STRING_FIELD } from './room-message.js';
import type { LeaveReason, Presence } from './session-messages.js';

/** First byte of a session message that carries a control message (MessagePack). */
export const CONTROL_MESSAGE_KIND = 0x00;

export type FieldKind =
  | 'string'
  | 'uint'
  | 'uints'
  | 'bool'
  | 'strings'
  | 'presence'
  | 'reason'
  | { readonly hex: number }
  | { readonly oneOf: readonly string[] }
  | { readonly objects: Schema };

export interface Field {
  readonly kind: FieldKind;
  readonly optional: boolean;
}

export type Schema = Readonly<Record<string, Field>>;

export function required(kind: FieldKind): Field {
  return { kind, optional: false };
}

export function optional(kind: FieldKind): Field {
  return { kind, optional: true };
}

/** Longest array field. */
export const MAX_ARRAY_FIELD = 100_000;

const LOWER_HEX = /^[0-9a-f]*$/;

const PRESENCES: ReadonlySet<string> = new Set<Presence>(['online', 'away', 'busy']);
const LEAVE_REASONS: ReadonlySet<string> = new Set<LeaveReason>([
  'left',
  'bye',
  'disconnected',
  'timeout',
  'too-slow',
  'shutdown',
]);

function fail(message: string): never {
  throw new MalformedSessionMessageError(message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Uint8Array)
  );
}

// Paths in error messages are built only when a check fails: decoding is on the relay's hot path.
type Where = () => string;

function checkValue(kind: FieldKind, value: unknown, where: Where): void {
  switch (kind) {
    case 'string':
      if (typeof value !== 'string' || value.length > MAX_STRING_FIELD) {
        fail(`${where()} must be a string of at most ${MAX_STRING_FIELD} characters`);
      }
      return;
    case 'uint':
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
        fail(`${where()} must be an unsigned integer below 2^53`);
      }
      return;
    case 'bool':
      if (typeof value !== 'boolean') fail(`${where()} must be true or false`);
      return;
    case 'presence':
      if (typeof value !== 'string' || !PRESENCES.has(value)) {
        fail(`${where()} must be one of ${[...PRESENCES].join(', ')}`);
      }
      return;
    case 'reason':
      if (typeof value !== 'string' || !LEAVE_REASONS.has(value)) {
        fail(`${where()} must be one of ${[...LEAVE_REASONS].join(', ')}`);
      }
      return;
    case 'uints':
      if (!Array.isArray(value) || value.length > MAX_ARRAY_FIELD) {
        fail(`${where()} must be an array of unsigned integers`);
      }
      for (let index = 0; index < value.length; index++) {
        checkValue('uint', value[index], () => `${where()}[${index}]`);
      }
      return;
    case 'strings':
      if (!Array.isArray(value) || value.length > MAX_ARRAY_FIELD) {
        fail(`${where()} must be an array of strings`);
      }
      for (let index = 0; index < value.length; index++) {
        checkValue('string', value[index], () => `${where()}[${index}]`);
      }
      return;
    default: {
      if ('oneOf' in kind) {
        if (typeof value !== 'string' || !kind.oneOf.includes(value)) {
          fail(`${where()} must be one of ${kind.oneOf.join(', ')}`);
        }
        return;
      }
      if ('hex' in kind) {
        if (typeof value !== 'string' || value.length !== kind.hex || !LOWER_HEX.test(value)) {
          fail(`${where()} must be ${kind.hex} lowercase hexadecimal digits`);
        }
        return;
      }
      if (!Array.isArray(value) || value.length > MAX_ARRAY_FIELD) {
        fail(`${where()} must be an array of maps`);
      }
      const schema = compile(kind.objects);
      for (let index = 0; index < value.length; index++) {
        checkFields(schema, value[index], () => `${where()}[${index}]`);
      }
    }
  }
}

/** A schema as checking walks it: its fields in a list, and their names for lookups. */
export interface CompiledSchema {
  readonly fields: readonly (readonly [name: string, field: Field])[];
  readonly names: ReadonlySet<string>;
}

const compiled = new WeakMap<Schema, CompiledSchema>();

export function compile(schema: Schema): CompiledSchema {
  let result = compiled.get(schema);
  if (result === undefined) {
    result = { fields: Object.entries(schema), names: new Set(Object.keys(schema)) };
    compiled.set(schema, result);
  }
  return result;
}

function checkFields(schema: CompiledSchema, value: unknown, where: Where, skip?: string): void {
  if (!isRecord(value)) fail(`${where()} must be a map`);
  let present = 0;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (key === skip) continue;
    if (!schema.names.has(key)) fail(`${where()} has an unknown field "${key}"`);
    present++;
  }
  let seen = 0;
  for (const [name, field] of schema.fields) {
    const fieldValue = value[name];
    if (fieldValue === undefined) {
      if (!field.optional) fail(`${where()} lacks the field "${name}"`);
      continue;
    }
    seen++;
    checkValue(field.kind, fieldValue, () => `${where()}.${name}`);
  }
  // A field present with the value undefined cannot come from MessagePack; anything else counted.
  if (seen !== present) fail(`${where()} has a field without a value`);
}

// One decoder and one encoder for the process, reused: building them per message costs more than
// decoding a chat line. Both are synchronous, so no call can interleave with another.
const decoder = new Decoder({
  maxStrLength: MAX_STRING_FIELD * 3,
  maxArrayLength: MAX_ARRAY_FIELD,
  maxMapLength: 64,
  maxBinLength: 0,
  maxExtLength: 0,
});
export const encoder = new Encoder({ ignoreUndefined: true });

export function decodeMessage(
  schemas: Readonly<Record<string, CompiledSchema>>,
  bytes: Uint8Array,
  from: string,
): Record<string, unknown> {
  if (bytes[0] !== CONTROL_MESSAGE_KIND) {
    fail(
      bytes.length === 0
        ? `the ${from} sent an empty session message`
        : `the ${from} sent a session message of unknown kind ${String(bytes[0])}`,
    );
  }
  let value: unknown;
  try {
    value = decoder.decode(bytes.subarray(1));
  } catch (error) {
    throw new MalformedSessionMessageError(
      `the ${from} sent a message that is not valid MessagePack`,
      { cause: error },
    );
  }
  if (!isRecord(value)) fail(`the ${from} sent a message that is not a map`);
  const type = value['type'];
  if (typeof type !== 'string' || !Object.hasOwn(schemas, type)) {
    fail(
      `the ${from} sent a message of unknown type ${typeof type === 'string' ? JSON.stringify(type.slice(0, 40)) : typeof type}`,
    );
  }
  checkFields(schemas[type]!, value, () => `the ${from}'s "${type}" message`, 'type');
  return value;
}
