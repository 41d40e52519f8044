/**
 * The root of lanchat's error hierarchy and its three broad categories.
 *
 * Every error lanchat throws is a {@link LanchatError}. Its `name` is a stable string that never
 * changes between releases, so code may switch on it, log it or send it over a wire. Use the
 * static `isInstance()` of a class rather than `instanceof`: it also recognises errors created by
 * another copy of `@lanchat/core` (an ESM and a CommonJS copy loaded side by side, or two versions
 * installed by different dependencies).
 *
 * @module
 */

const MARKER_PREFIX = 'lanchat.error.';

/** The global-registry symbol that marks instances of the error class with this stable name. */
function markerFor(errorName: string): symbol {
  return Symbol.for(MARKER_PREFIX + errorName);
}

/** Options accepted by every lanchat error constructor. */
export interface LanchatErrorOptions {
  /** The underlying error or value that led to this one; kept as the standard `cause`. */
  readonly cause?: unknown;
}

/**
 * A class in the lanchat error hierarchy, as seen by {@link LanchatError.isInstance}: anything
 * with a stable `errorName` whose prototype is a {@link LanchatError}.
 */
export interface LanchatErrorClass<T extends LanchatError = LanchatError> {
  readonly errorName: string;
  readonly prototype: T;
}

/**
 * The base of every error lanchat throws.
 *
 * It is never thrown itself; catch it to handle anything that came from lanchat. Subclasses fall
 * into {@link LocalProtocolError} (this side broke a rule), {@link RemoteProtocolError} (the peer
 * or its data broke a rule) and {@link InvalidArgumentError} (a value outside its documented
 * range).
 */
export class LanchatError extends Error {
  /** The stable name of this class; equal to `name` on its instances. */
  static readonly errorName: string = 'LanchatError';

  /** The stable name of the concrete error class, e.g. `"IncomingFrameTooLargeError"`. */
  override readonly name: string;

  constructor(message: string, options?: LanchatErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    const errorClass = new.target as unknown as LanchatErrorClass;
    this.name = errorClass.errorName;
    // Mark the instance with the symbol of its own class and of every ancestor up to Error, so
    // that `X.isInstance(error)` holds for each class X the error belongs to. Symbol.for() keys
    // live in a registry shared by every copy of this package in the process.
    let current: unknown = new.target;
    while (typeof current === 'function' && current !== Error) {
      const errorName = (current as unknown as LanchatErrorClass).errorName;
      Object.defineProperty(this, markerFor(errorName), { value: true, enumerable: false });
      current = Object.getPrototypeOf(current);
    }
  }

  /**
   * Tells whether `value` is an error of this class (or of a subclass), even when it was created
   * by another copy of `@lanchat/core`. Call it on the class you want to test for:
   * `IncomingFrameTooLargeError.isInstance(error)`.
   */
  static isInstance<T extends LanchatError>(
    this: LanchatErrorClass<T>,
    value: unknown,
  ): value is T {
    if (typeof value !== 'object' || value === null) return false;
    return (value as Record<symbol, unknown>)[markerFor(this.errorName)] === true;
  }
}

/**
 * This side broke a protocol or API rule: it tried to send something the protocol forbids, or
 * called a method in a state that does not allow it.
 *
 * Nothing was sent and the object that threw is unchanged, unless the subclass says otherwise;
 * fix the call and carry on.
 */
export class LocalProtocolError extends LanchatError {
  static override readonly errorName: string = 'LocalProtocolError';
}

/**
 * The peer, or data that came from it, broke the protocol: a malformed or oversized frame, a
 * stranger speaking another protocol, data that fails verification.
 *
 * The object that parsed the input is failed for good (a sticky state: every later call throws
 * the same error), unless the subclass says otherwise; close the connection it came from. Other
 * connections are unaffected.
 */
export class RemoteProtocolError extends LanchatError {
  static override readonly errorName: string = 'RemoteProtocolError';
}

/**
 * A caller passed a value outside its documented range (a negative limit, an empty key). Nothing
 * changed; this is a programming error to fix, not a condition to handle at run time.
 */
export class InvalidArgumentError extends LanchatError {
  static override readonly errorName: string = 'InvalidArgumentError';
}

/**
 * A method was called in a state that does not allow it (for example feeding a decoder before it
 * has handed out the frames of the previous chunk, or updating a digest that is already
 * finished). Nothing changed: the object keeps the state it had before the call.
 */
export class InvalidStateError extends LocalProtocolError {
  static override readonly errorName: string = 'InvalidStateError';
}
