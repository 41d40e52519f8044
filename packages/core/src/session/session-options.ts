/**
 * Constants shared by the client and server sides of the chat session.
 *
 * @module
 */

/** The capability both sides announce in the handshake to say they speak the chat session. */
export const CHAT_CAPABILITY = 'chat';

/** The capability a server announces when it requires login with a username and password. */
export const LOGIN_REQUIRED_CAPABILITY = 'login-required';

/**
 * The capability a client announces when it reads room batches (session kind `0x03`): several
 * messages of one room from one sender in one session message. A server sends batches to such a
 * client only, and single room messages to the others.
 */
export const ROOM_BATCH_CAPABILITY = 'room-batch';

/**
 * The capability a server announces when it reads a `say` in its compact form (session kind
 * `0x04`); a client sends that form to such a server only, MessagePack to any other.
 */
export const COMPACT_SAY_CAPABILITY = 'compact-say';

/**
 * The capability a server announces when it relays file data sealed end to end (session kind
 * `0x05`) and the transfer keys of offers. A client seals its files only for such a server, on a
 * stream whose both ends announced `clear-tail`, and only for a receiver that said so in its accept
 * (docs/protocol.md, section 9.9).
 */
export const SEALED_FILES_CAPABILITY = 'sealed-files';

/**
 * Most bytes of text a server gathers into one room batch (about; the UTF-16 length of each text
 * is counted): 16 KiB. A batch then fits one transport message even when every character takes 3
 * bytes.
 */
export const ROOM_BATCH_TEXT_BUDGET = 16_384;

/** Default interval of client keepalive pings when nothing else is sent or received, in ms: 30 s. */
export const DEFAULT_KEEPALIVE_INTERVAL = 30_000;

/**
 * Default time without a byte from the server after which a client gives the connection up as
 * dead, in ms: 75 s (two keepalive pings unanswered, and some).
 */
export const DEFAULT_DEAD_TIMEOUT = 75_000;

/**
 * Default time output sent over a datagram session may wait with no acknowledgement coming before
 * the peer is taken as gone, in ms: 10 s. A LAN answers within milliseconds, and the resends back
 * off to seconds meanwhile; a server that restarted (and forgot the session) or a peer that left
 * the network is found this way long before the dead or idle timeout. Streams leave this to TCP.
 */
export const DEFAULT_UNANSWERED_TIMEOUT = 10_000;
