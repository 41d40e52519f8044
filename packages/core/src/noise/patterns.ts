/**
 * Noise handshake patterns as data: a frozen table of tokens per message, after the Noise
 * Protocol Framework (revision 34), sections 7.4, 7.5 and 9.
 *
 * @module
 */

/** A token of a handshake message. */
export type Token = 'e' | 's' | 'ee' | 'es' | 'se' | 'ss' | 'psk';

/**
 * A token of a pre-message: a public key known before the handshake. Only static keys: none of
 * the patterns lanchat implements has an ephemeral key in a pre-message.
 */
export type PreMessageToken = 's';

/** The handshake patterns lanchat implements. */
export type PatternName =
  'NN' | 'NK' | 'KK' | 'XN' | 'XX' | 'IK' | 'NNpsk0' | 'NNpsk2' | 'XXpsk3' | 'IKpsk2';

/** A handshake pattern. Messages alternate, initiator first. */
export interface HandshakePattern {
  readonly name: PatternName;
  /** Public keys of the initiator that the responder knows in advance. */
  readonly initiatorPreMessage: readonly PreMessageToken[];
  /** Public keys of the responder that the initiator knows in advance. */
  readonly responderPreMessage: readonly PreMessageToken[];
  /** Tokens of each message: index 0 is initiator to responder, 1 the answer, and so on. */
  readonly messages: readonly (readonly Token[])[];
  /** True when the pattern has psk tokens: then every `e` token also mixes the key. */
  readonly psk: boolean;
}

function pattern(
  name: PatternName,
  initiatorPreMessage: readonly PreMessageToken[],
  responderPreMessage: readonly PreMessageToken[],
  messages: readonly (readonly Token[])[],
): HandshakePattern {
  return Object.freeze({
    name,
    initiatorPreMessage: Object.freeze([...initiatorPreMessage]),
    responderPreMessage: Object.freeze([...responderPreMessage]),
    messages: Object.freeze(messages.map((tokens) => Object.freeze([...tokens]))),
    psk: messages.some((tokens) => tokens.includes('psk')),
  });
}

/** Every pattern lanchat implements, by name. */
// prettier-ignore
export const HANDSHAKE_PATTERNS: Readonly<Record<PatternName, HandshakePattern>> = Object.freeze({
  // No static keys: anonymous, encrypted against passive listeners only.
  NN: pattern('NN', [], [], [
    ['e'], //             -> e
    ['e', 'ee'], //       <- e, ee
  ]),
  // The initiator knows the responder's static key in advance.
  NK: pattern('NK', [], ['s'], [
    ['e', 'es'], //       -> e, es
    ['e', 'ee'], //       <- e, ee
  ]),
  // Both know each other's static key in advance.
  KK: pattern('KK', ['s'], ['s'], [
    ['e', 'es', 'ss'], // -> e, es, ss
    ['e', 'ee', 'se'], // <- e, ee, se
  ]),
  // The initiator sends its static key last; the responder has none.
  XN: pattern('XN', [], [], [
    ['e'], //             -> e
    ['e', 'ee'], //       <- e, ee
    ['s', 'se'], //       -> s, se
  ]),
  // Both send their static keys, encrypted: lanchat's default, with keys pinned after first use.
  XX: pattern('XX', [], [], [
    ['e'], //                   -> e
    ['e', 'ee', 's', 'es'], //  <- e, ee, s, es
    ['s', 'se'], //             -> s, se
  ]),
  // The initiator knows the responder's key and sends its own at once: one round trip.
  IK: pattern('IK', [], ['s'], [
    ['e', 'es', 's', 'ss'], //  -> e, es, s, ss
    ['e', 'ee', 'se'], //       <- e, ee, se
  ]),
  // NN with a pre-shared key mixed in before anything else.
  NNpsk0: pattern('NNpsk0', [], [], [
    ['psk', 'e'], //            -> psk, e
    ['e', 'ee'], //             <- e, ee
  ]),
  // NN with a pre-shared key mixed in at the end of the second message.
  NNpsk2: pattern('NNpsk2', [], [], [
    ['e'], //                   -> e
    ['e', 'ee', 'psk'], //      <- e, ee, psk
  ]),
  // XX with a pre-shared key mixed in at the end of the third message.
  XXpsk3: pattern('XXpsk3', [], [], [
    ['e'], //                   -> e
    ['e', 'ee', 's', 'es'], //  <- e, ee, s, es
    ['s', 'se', 'psk'], //      -> s, se, psk
  ]),
  // IK with a pre-shared key mixed in at the end of the second message.
  IKpsk2: pattern('IKpsk2', [], ['s'], [
    ['e', 'es', 's', 'ss'], //  -> e, es, s, ss
    ['e', 'ee', 'se', 'psk'], // <- e, ee, se, psk
  ]),
});
