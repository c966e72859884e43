// ChunkedDecoder on its own (it is pure): both HTTP/1.1 parsers de-chunk through it, so where a body
// ends, what it holds and what is refused must not depend on where TCP split the bytes. Each
// property runs every split point of each input, then random multi-splits down to single bytes.
import t, { type Test } from 'tap';
import { ChunkedDecoder, type ChunkedLimits } from '../../src/router/http1/chunked';
import { REQUEST_LIMITS } from '../../src/router/client/limits';
import { prng } from '../fixtures/prng';

interface Outcome {
  body: string;
  done: boolean;
  /** Bytes after the end of the body, latin1. */
  rest: string;
  fault?: { reason: string; tooLarge: boolean };
}

/** Feeds `pieces` as a parser does: decode, hand on the body bytes found, go on until the piece is used. */
function decode(pieces: Buffer[], limits: ChunkedLimits = REQUEST_LIMITS, decoder?: ChunkedDecoder): Outcome {
  const out: Outcome = { body: '', done: false, rest: '' };
  const d = decoder ?? new ChunkedDecoder(limits);
  for (const p of pieces) {
    if (out.fault !== undefined) break;
    if (out.done) {
      out.rest += p.toString('latin1');
      continue;
    }
    let next = 0;
    do {
      const at = next;
      next = d.decode(p, at);
      if (next === -1) {
        const { reason, tooLarge } = d.fault!;
        out.fault = { reason, tooLarge };
        break;
      }
      if (next <= at && next < p.length) throw new Error(`no progress at ${at} of ${p.length}`);
      out.body += p.toString('latin1', d.dataStart, d.dataEnd);
    } while (next < p.length && !d.done);
    if (d.done) {
      out.done = true;
      out.rest += p.toString('latin1', next);
    }
  }
  return out;
}

const buf = (s: string): Buffer => Buffer.from(s, 'latin1');
const norm = (o: Outcome): string => JSON.stringify([o.body, o.done, o.rest, o.fault]);

/** Every way of cutting `input` in two, then `multi` random cuttings into pieces of 1–`most` bytes. */
function* splits(input: Buffer, rand: () => number, multi = 8, most = 16): Generator<Buffer[]> {
  for (let at = 0; at <= input.length; at++) yield [input.subarray(0, at), input.subarray(at)];
  for (let k = 0; k < multi; k++) {
    const pieces: Buffer[] = [];
    for (let at = 0; at < input.length;) {
      const len = k === 0 ? 1 : 1 + Math.floor(rand() * most);
      pieces.push(input.subarray(at, at + len));
      at += len;
    }
    yield pieces;
  }
}

/** The outcome of `input` whole, after checking every split gives the same; counts the splits run. */
function agree(t: Test, input: Buffer, rand: () => number, limits?: ChunkedLimits): { whole: Outcome; runs: number } {
  const whole = decode([input], limits);
  const expected = norm(whole);
  let runs = 0;
  for (const pieces of splits(input, rand)) {
    const got = norm(decode(pieces, limits));
    runs++;
    if (got !== expected) {
      t.fail('a split changed the outcome', { input: input.toString('latin1'), got, expected, pieces: pieces.length });
      break;
    }
  }
  return { whole, runs };
}

/** A random valid chunked body: its encoding, the data it carries, and some bytes after it. */
function randomBody(rand: () => number): { input: Buffer; data: string; rest: string } {
  const int = (n: number): number => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  // Data bytes include CR, LF, hex digits and anything else: they are data, never framing.
  const bytes = (n: number): string => {
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(pick([int(256), 0x0d, 0x0a, 0x30, 0x61, 0x3b]));
    return s;
  };
  let input = '';
  let data = '';
  for (let i = int(5); i > 0; i--) {
    const part = bytes(1 + int(pick([16, 300])));
    const size = part.length.toString(16);
    const ext = pick(['', ';e', ';a=b;c="d e"', ' ;x', '\t;y=1', ';q="\x80\xff"']);
    input += `${pick([size, size.toUpperCase(), `000${size}`])}${ext}\r\n${part}\r\n`;
    data += part;
  }
  input += `${pick(['0', '000'])}${pick(['', ';last'])}\r\n`;
  for (let i = pick([0, 0, 1, 3]); i > 0; i--) input += `X-T${i}: ${pick(['', 'v', 'a\tb', '\xe9'])}\r\n`;
  input += '\r\n';
  const rest = pick(['', '', 'GET / HTTP/1.1\r\n', bytes(1 + int(10))]);
  return { input: buf(input + rest), data, rest };
}

t.test('property: any split of a valid body gives its data, its end and the bytes after it', async (t) => {
  const rand = prng(0xc4a11ed);
  let runs = 0;
  for (let n = 0; n < 150; n++) {
    const body = randomBody(rand);
    const r = agree(t, body.input, rand);
    runs += r.runs;
    t.same(r.whole, { body: body.data, done: true, rest: body.rest }, `case ${n} decodes`);
  }
  t.ok(runs > 20_000, `${runs} splits agreed`);
});

t.test('property: a damaged body gets the same verdict at every split', async (t) => {
  // One byte changed, dropped or added where framing lives: refused or read, the verdict and the
  // data handed on before it must be those of the whole input, or a peer could steer a reader by
  // how it splits its writes.
  const rand = prng(0xbad5eed);
  const NASTY = [0x0d, 0x0a, 0x00, 0x09, 0x20, 0x3b, 0x30, 0x46, 0x67, 0x7f, 0xff];
  let refusedCases = 0;
  let runs = 0;
  for (let n = 0; n < 300; n++) {
    const good = randomBody(rand).input;
    const at = Math.floor(rand() * good.length);
    const nasty = Buffer.of(NASTY[Math.floor(rand() * NASTY.length)]!);
    const how = Math.floor(rand() * 3);
    const bad =
      how === 0
        ? Buffer.concat([good.subarray(0, at), nasty, good.subarray(at + 1)])
        : how === 1
          ? Buffer.concat([good.subarray(0, at), good.subarray(at + 1)])
          : Buffer.concat([good.subarray(0, at), nasty, good.subarray(at)]);
    const r = agree(t, bad, rand);
    runs += r.runs;
    if (r.whole.fault !== undefined) refusedCases++;
  }
  t.ok(refusedCases > 100, `${refusedCases} of 300 damaged bodies refused`);
  t.ok(runs > 20_000, `${runs} splits agreed`);
});

t.test('refusals name the rule the bytes broke', async (t) => {
  const rand = prng(7);
  const cases: [string, string][] = [
    ['zz\r\n', 'chunk size'],
    ['\r\n', 'chunk size'],
    ['-5\r\n', 'chunk size'],
    ['0x5\r\n', 'chunk size'],
    ['5\nhello\r\n0\r\n\r\n', 'chunk size'],
    ['5\rhello\r\n0\r\n\r\n', 'chunk size line'],
    ['5;e\nhello\r\n0\r\n\r\n', 'chunk extension'],
    ['5;e\x00xt\r\nhello\r\n0\r\n\r\n', 'chunk extension'],
    ['5;e\x7f\r\nhello\r\n0\r\n\r\n', 'chunk extension'],
    ['5\r\nhelloX\r\n0\r\n\r\n', 'chunk data end'],
    ['5\r\nhello0\r\n\r\n', 'chunk data end'],
    ['5\r\nhello\n0\r\n\r\n', 'chunk data end'],
    ['5\r\nhello\r0\r\n\r\n', 'chunk data end'],
    ['0\r\nX: y\n\r\n', 'trailer'],
    ['0\r\n\n', 'trailer'],
    ['0\r\n\rX', 'trailer'],
    ['0\r\nX: \x01\r\n\r\n', 'trailer'],
  ];
  for (const [input, reason] of cases) {
    const { whole } = agree(t, buf(input), rand);
    t.same(whole.fault, { reason, tooLarge: false }, JSON.stringify(input));
    t.equal(whole.done, false);
  }
  // Data before the refusal was handed on, as a streaming reader must.
  t.equal(decode([buf('5\r\nhelloX')]).body, 'hello');
});

t.test('each limit holds at its bound and refuses one byte past it', async (t) => {
  const rand = prng(11);
  const limits: ChunkedLimits = { chunkSizeDigits: 3, chunkExtBytes: 8, headBytes: 16 };
  const ok = (input: string, body: string): void => {
    const { whole } = agree(t, buf(input), rand, limits);
    t.same(whole, { body, done: true, rest: '' }, JSON.stringify(input));
  };
  const no = (input: string, reason: string, tooLarge: boolean): void => {
    const { whole } = agree(t, buf(input), rand, limits);
    t.same(whole.fault, { reason, tooLarge }, JSON.stringify(input));
  };
  ok(`00a\r\n${'x'.repeat(10)}\r\n0\r\n\r\n`, 'x'.repeat(10));
  no(`000a\r\n${'x'.repeat(10)}\r\n0\r\n\r\n`, 'chunk size', false);
  // Extension bytes count after the byte that opens them, per chunk.
  ok(`1;${'e'.repeat(8)}\r\nx\r\n0;${'e'.repeat(8)}\r\n\r\n`, 'x');
  no(`1;${'e'.repeat(9)}\r\nx\r\n0\r\n\r\n`, 'chunk extension', true);
  // The trailer section counts as a whole (CRLFs aside), not line by line.
  ok(`0\r\nA: 123456\r\nB: 4567\r\n\r\n`, '');
  no(`0\r\nA: 123456\r\nB: 45678\r\n\r\n`, 'trailer', true);
  // The request side's real bounds, once each.
  no(`${'1'.repeat(REQUEST_LIMITS.chunkSizeDigits + 1)}\r\n`, 'chunk size', false);
  t.same(decode([buf(`1;${'e'.repeat(REQUEST_LIMITS.chunkExtBytes + 1)}\r\n`)]).fault, {
    reason: 'chunk extension',
    tooLarge: true,
  });
  t.same(decode([buf(`0\r\nX: ${'t'.repeat(REQUEST_LIMITS.headBytes)}\r\n\r\n`)]).fault, {
    reason: 'trailer',
    tooLarge: true,
  });
});

t.test('reset readies the decoder for the next body on the connection', async (t) => {
  const d = new ChunkedDecoder(REQUEST_LIMITS);
  t.same(decode([buf('3\r\nabc\r\n0\r\nX: y\r\n\r\n')], REQUEST_LIMITS, d), { body: 'abc', done: true, rest: '' });
  t.equal(d.decode(buf('more'), 0), 0, 'after its end it reads nothing more');
  t.equal(d.dataEnd - d.dataStart, 0, 'and finds no body bytes');
  d.reset();
  t.notOk(d.done);
  t.same(decode([buf('2\r\nde\r\n0\r\n\r\n')], REQUEST_LIMITS, d), { body: 'de', done: true, rest: '' });
});

t.test('body bytes come back one run at a time, as offsets into the input', async (t) => {
  const d = new ChunkedDecoder(REQUEST_LIMITS);
  const input = buf('3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n');
  const runs: string[] = [];
  let at = 0;
  while (!d.done) {
    at = d.decode(input, at);
    if (d.dataEnd > d.dataStart) runs.push(input.toString('latin1', d.dataStart, d.dataEnd));
  }
  t.same(runs, ['abc', 'de'], 'one run per chunk, each handed back before the next is read');
  t.equal(at, input.length);
});
