// Request ids (design.md §Request path: X-Request-Id, the router line's request_id): UUID version 4,
// RFC 9562 §5.4, made for every request that brings none of its own. Node's crypto.randomUUID()
// builds its string with a concatenation per byte pair, a cons string flattened again when the head
// is written; here the hex goes by table into one reused buffer, read out as a single flat string.
import { Buffer } from 'node:buffer';
import { randomFillSync } from 'node:crypto';

/** Random bytes for 256 ids, refilled from the CSPRNG in one call when used up (as randomUUID pools them). */
const BLOCK = 4096;
const pool = Buffer.allocUnsafe(BLOCK);
let at = BLOCK;

/** Where each of the 16 bytes' two hex digits go in `xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx`. */
const AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
const DIGITS = Buffer.from('0123456789abcdef', 'latin1');
const HIGH = new Uint8Array(256);
const LOW = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  HIGH[b] = DIGITS[b >> 4]!;
  LOW[b] = DIGITS[b & 15]!;
}
/** The id being written: the dashes stay where they are. */
const out = Buffer.from('00000000-0000-0000-0000-000000000000', 'latin1');

/** A new random UUID v4 in lower-case hex: version nibble 4 (byte 6), variant bits 10 (byte 8). */
export function uuidV4(): string {
  if (at === BLOCK) {
    randomFillSync(pool);
    at = 0;
  }
  for (let i = 0; i < 16; i++) {
    let b = pool[at + i]!;
    if (i === 6) b = (b & 0x0f) | 0x40;
    else if (i === 8) b = (b & 0x3f) | 0x80;
    const o = AT[i]!;
    out[o] = HIGH[b]!;
    out[o + 1] = LOW[b]!;
  }
  at += 16;
  return out.toString('latin1');
}
