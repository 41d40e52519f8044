/**
 * A short tour of @lanchat/core's foundation: framing a message stream, checking integrity, and
 * refusing what is not lanchat. Run it with `npm run quickstart` (or `pnpm demo`).
 */
import { randomBytes } from 'node:crypto';
import {
  ChecksumMismatchError,
  LanchatError,
  PreambleDecoder,
  StreamFrameDecoder,
  TamperedError,
  encodeStreamFrames,
  hmacSha256,
  md5,
  verifyHmacSha256,
  verifyMd5,
} from '@lanchat/core';

const text = new TextEncoder();
const words = new TextDecoder();

function section(title: string): void {
  console.log(`\n== ${title}`);
}

/** Runs `check` and prints what it threw: the error's stable name and message. */
function expectRefusal(check: () => unknown): void {
  try {
    check();
    console.log('   (accepted)');
  } catch (error) {
    if (!LanchatError.isInstance(error)) throw error;
    console.log(`   ${error.name}: ${error.message}`);
  }
}

section('1. Framing: messages survive any cut of the byte stream');
const messages = ['hello from the lab', 'is the projector on?', 'bye'];
const wire = encodeStreamFrames(messages.map((message) => text.encode(message)));
// TCP delivers bytes in arbitrary pieces; cut the stream in awkward places to show it does not matter.
const chunks = [
  wire.subarray(0, 3),
  wire.subarray(3, 25),
  wire.subarray(25, 26),
  wire.subarray(26),
];
console.log(
  `   ${messages.length} messages, ${wire.length} bytes, arriving in chunks of ${chunks.map((chunk) => chunk.length).join(', ')} bytes`,
);
const decoder = new StreamFrameDecoder();
for (const chunk of chunks) {
  decoder.receive(chunk);
  for (let frame = decoder.nextFrame(); frame !== undefined; frame = decoder.nextFrame()) {
    console.log(`   received: "${words.decode(frame)}"`);
  }
}
decoder.finish();

section('2. MD5 notices corruption (the original programs\' "verified" check)');
const message = text.encode('meet at 10 in room B');
const checksum = md5(message);
verifyMd5(message, checksum);
console.log(`   "meet at 10 in room B" md5 ${Buffer.from(checksum).toString('hex')}: verified`);
const corrupted = message.slice();
corrupted[8] = 0x32; // "meet at 20 ..."
expectRefusal(() => {
  verifyMd5(corrupted, checksum);
});

section('3. ...but MD5 is no protection: an attacker just recomputes it. HMAC with a key is.');
const forgedChecksum = md5(corrupted);
verifyMd5(corrupted, forgedChecksum);
console.log('   forged message with recomputed MD5: "verified" (MD5 was fooled)');
const key = randomBytes(32); // shared by the two sides; later releases derive keys with Noise
const tag = hmacSha256(key, message);
verifyHmacSha256(key, message, tag);
console.log('   original message with HMAC-SHA256 tag: verified');
expectRefusal(() => {
  verifyHmacSha256(key, corrupted, tag);
});

section('4. Strangers and abuse get clear, typed errors');
console.log('   a web browser connects to the lanchat port:');
expectRefusal(() =>
  new PreambleDecoder().receive(text.encode('GET / HTTP/1.1\r\nHost: lab\r\n\r\n')),
);
console.log(
  '   a peer announces a 4 GiB frame (refused from the 4-byte header, nothing allocated):',
);
const guarded = new StreamFrameDecoder();
guarded.receive(Uint8Array.of(0xff, 0xff, 0xff, 0xff));
expectRefusal(() => guarded.nextFrame());

console.log(
  `\nEvery error above has a stable name (${TamperedError.errorName}, ${ChecksumMismatchError.errorName}, ...): see docs/errors.md.`,
);
