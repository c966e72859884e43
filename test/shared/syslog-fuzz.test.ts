// Property and fuzz tests with a seeded PRNG: bounded iterations, reproducible from the seed.
import { isDeepStrictEqual } from 'node:util';
import t from 'tap';
import { encodeFrame, FrameSplitter } from '../../src/shared/syslog/frame';
import {
  formatSyslog,
  formatTimestamp,
  parseSyslog,
  SdElement,
  SyslogParseError,
} from '../../src/shared/syslog/rfc5424';
import { prng } from '../fixtures/prng';

const SEED = 0x5eed;
const rnd = prng(SEED);
const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)]!;

// Bytes that matter to the framer and parser appear far more often than in uniform noise.
const INTERESTING = [
  0x30, 0x31, 0x39, 0x20, 0x0a, 0x0d, 0x3c, 0x3e, 0x2d, 0x5b, 0x5d, 0x22, 0x5c, 0x3d, 0xef, 0xbb, 0xbf,
];
function noise(len: number): Buffer {
  const b = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) b[i] = rnd() < 0.5 ? pick(INTERESTING) : int(0, 255);
  return b;
}

function collect(
  chunks: Buffer[],
  maxFrame: number,
): { frames: string[]; errors: string[]; maxBuffered: number; longest: number } {
  const out = { frames: [] as string[], errors: [] as string[], maxBuffered: 0, longest: 0 };
  const s = new FrameSplitter({
    maxFrame,
    onFrame: (f, tr) => {
      out.frames.push((tr ? 'T:' : 'F:') + f.toString('latin1'));
      out.longest = Math.max(out.longest, f.length);
    },
    onError: (e) => out.errors.push(`${e.code}@${e.offset}`),
  });
  for (const c of chunks) {
    s.push(c);
    out.maxBuffered = Math.max(out.maxBuffered, s.buffered);
  }
  s.end();
  return out;
}

function randomChunks(buf: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length;) {
    const n = int(1, 40);
    chunks.push(buf.subarray(i, i + n));
    i += n;
  }
  return chunks;
}

t.test('random bytes never throw, stay bounded, and split the same in any chunking', async (t) => {
  const iterations = 20_000;
  let frames = 0;
  let errors = 0;
  for (let i = 0; i < iterations; i++) {
    const maxFrame = int(1, 64);
    const buf = noise(int(0, 200));
    const whole = collect([buf], maxFrame);
    const chunked = collect(randomChunks(buf), maxFrame);
    if (whole.maxBuffered > maxFrame + 1 || chunked.maxBuffered > maxFrame + 1)
      t.fail(`buffered over bound at iteration ${i}`);
    if (whole.longest > maxFrame) t.fail(`frame over maxFrame at iteration ${i}`);
    if (JSON.stringify(whole) !== JSON.stringify({ ...chunked, maxBuffered: whole.maxBuffered })) {
      t.fail(`chunking changed the result at iteration ${i} (seed ${SEED}): ${buf.toString('hex')}`);
      break;
    }
    for (const f of whole.frames) {
      const r = parseSyslog(Buffer.from(f.slice(2), 'latin1'));
      if (!(r instanceof SyslogParseError) && r.version !== 1) t.fail('parsed a version other than 1');
    }
    frames += whole.frames.length;
    errors += whole.errors.length;
  }
  t.ok(frames > 1000 && errors > 1000, `exercised both paths (${frames} frames, ${errors} errors)`);
});

t.test('parseSyslog never throws on random input', async (t) => {
  let parsed = 0;
  for (let i = 0; i < 20_000; i++) {
    // Start from a valid prefix half the time so the parser gets past PRI and VERSION.
    const head =
      rnd() < 0.5
        ? Buffer.from(pick(['<13>1 ', '<13>1 - h a p m ', '<0>1 2026-11-26T10:00:00Z h a p m [x@1 ']))
        : Buffer.alloc(0);
    const r = parseSyslog(Buffer.concat([head, noise(int(0, 80))]));
    if (!(r instanceof SyslogParseError)) parsed++;
  }
  t.ok(parsed > 100, `some random inputs parse (${parsed})`);
});

const PRINT = Array.from({ length: 94 }, (_, i) => String.fromCharCode(0x21 + i));
const SD_NAME = PRINT.filter((c) => c !== '=' && c !== ']' && c !== '"');
const VALUE_CHARS = [...PRINT, ' ', 'é', '✓', '"', '\\', ']', '\\]', '日本'];

function word(chars: readonly string[], max: number): string {
  let s = '';
  const n = int(1, max);
  for (let i = 0; i < n; i++) s += pick(chars);
  return s === '-' ? 'x' : s;
}
const maybe = (chars: readonly string[], max: number): string => (rnd() < 0.2 ? '' : word(chars, max));

function randomMessage() {
  const sd: SdElement[] = [];
  const elements = rnd() < 0.4 ? 0 : int(1, 3);
  for (let e = 0; e < elements; e++) {
    const params: [string, string][] = [];
    for (let p = int(0, 3); p > 0; p--) params.push([word(SD_NAME, 32), rnd() < 0.1 ? '' : word(VALUE_CHARS, 20)]);
    sd.push({ id: word(SD_NAME, 32), params });
  }
  let msg = rnd() < 0.1 ? Buffer.alloc(0) : noise(int(1, 100));
  if (msg[0] === 0xef) msg = Buffer.concat([Buffer.from('x'), msg]); // a leading BOM is removed by design
  return {
    pri: int(0, 191),
    timestamp: rnd() < 0.2 ? '' : formatTimestamp(int(0, 4102444800000), int(0, 999)),
    hostname: maybe(PRINT, 255),
    appName: maybe(PRINT, 48),
    procId: maybe(PRINT, 128),
    msgId: maybe(PRINT, 32),
    sd,
    msg,
  };
}

t.test('format → frame → split → parse round-trips random valid messages exactly', async (t) => {
  const iterations = 5_000;
  const wire: Buffer[] = [];
  const sent = [];
  for (let i = 0; i < iterations; i++) {
    const m = randomMessage();
    sent.push(m);
    wire.push(encodeFrame(formatSyslog(m)));
  }
  const got: Buffer[] = [];
  const s = new FrameSplitter({
    maxFrame: 64 * 1024,
    onFrame: (f) => got.push(Buffer.from(f)),
    onError: (e) => t.fail(e.code),
  });
  for (const c of randomChunks(Buffer.concat(wire))) s.push(c);
  s.end();
  t.equal(got.length, iterations);
  let mismatches = 0;
  for (let i = 0; i < got.length; i++) {
    const r = parseSyslog(got[i]!);
    const want = { ...sent[i]!, version: 1 };
    if (
      r instanceof SyslogParseError ||
      !isDeepStrictEqual({ ...r, msg: r.msg.toString('hex') }, { ...want, msg: want.msg.toString('hex') })
    ) {
      if (mismatches++ < 3)
        t.fail(
          `round trip ${i}: ${got[i]!.toString('latin1')} → ${r instanceof SyslogParseError ? r.message : JSON.stringify(r)}`,
        );
    }
  }
  t.equal(mismatches, 0, 'every message came back as sent');
});

t.test('mixed octet-counted and LF frames come back exactly, in any chunking', async (t) => {
  const want: string[] = [];
  const wire: Buffer[] = [];
  for (let i = 0; i < 3_000; i++) {
    // LF-mode frames cannot hold LF and must not start with a digit; octet-counted ones hold anything.
    const octet = rnd() < 0.5;
    const body = octet
      ? noise(int(1, 120))
      : Buffer.concat([Buffer.from('<'), noise(int(0, 120)).map((b) => (b === 0x0a || b === 0x0d ? 0x20 : b))]);
    want.push(body.toString('latin1'));
    wire.push(octet ? encodeFrame(body) : Buffer.concat([body, Buffer.from(rnd() < 0.5 ? '\n' : '\r\n')]));
  }
  const got = collect(randomChunks(Buffer.concat(wire)), 200);
  t.same(got.errors, []);
  t.equal(got.frames.length, want.length);
  t.ok(
    got.frames.every((f, i) => f === 'F:' + want[i]),
    'every frame as sent, none truncated',
  );
});
