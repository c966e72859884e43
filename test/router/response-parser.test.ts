// ResponseParser on its own (it is pure): feed Buffers, collect what it hands the sink. Every case
// also runs byte by byte, because the router meets responses split at arbitrary TCP boundaries.
import t, { type Test } from 'tap';
import { downstreamHeaders } from '../../src/router/headers';
import { fieldList } from '../../src/router/http1/head-bytes';
import { RESPONSE_LIMITS, ResponseParseError, ResponseParser } from '../../src/router/upstream/response-parser';
import { prng } from '../fixtures/prng';

interface Outcome {
  head?: { status: number; reason: string; raw: string[] };
  body: string;
  end?: boolean;
  /** Bytes past the end of the response, latin1. */
  extra?: string;
  error?: { reason: string; phase: string };
  /** finish() was called (the dyno closed) and said the body was complete. */
  finished?: boolean;
  /** onBody was called after onEnd, or onHead twice: the sink's contract broken. */
  misuse?: string;
  /** The head as onWireHead got it (a sink that takes wire heads). */
  wire?: { status: number; head: string; hasLength: boolean };
}

/**
 * Feeds `pieces` in order; when `close`, the dyno closes afterwards (finish()). With `wire`, the
 * sink takes heads in wire form too (onWireHead), as the request path's does.
 */
function run(pieces: Buffer[], opts: { head?: boolean; close?: boolean; wire?: boolean } = {}): Outcome {
  const out: Outcome = { body: '' };
  const parser = new ResponseParser(
    {
      onHead(status, reason, raw) {
        if (out.head !== undefined) out.misuse = 'two heads';
        out.head = { status, reason, raw };
      },
      ...(opts.wire === true
        ? {
            onWireHead(status: number, head: string, hasLength: boolean): boolean {
              if (out.head !== undefined) out.misuse = 'two heads';
              out.wire = { status, head, hasLength };
              out.head = { status, reason: '', raw: [] };
              return true;
            },
          }
        : {}),
      onBody(chunk) {
        if (out.end !== undefined) out.misuse = 'body after end';
        if (out.head === undefined) out.misuse = 'body before head';
        out.body += chunk.toString('latin1');
      },
      onEnd(reusable) {
        if (out.end !== undefined) out.misuse = 'two ends';
        out.end = reusable;
      },
    },
    opts.head === true,
  );
  try {
    for (const p of pieces) {
      const extra = parser.execute(p);
      if (extra !== undefined) out.extra = (out.extra ?? '') + extra.toString('latin1');
    }
    if (opts.close === true) out.finished = parser.finish();
  } catch (err) {
    if (!(err instanceof ResponseParseError)) throw err;
    out.error = { reason: err.reason, phase: err.phase };
  }
  return out;
}

const whole = (s: string | Buffer): Buffer[] => [typeof s === 'string' ? Buffer.from(s, 'latin1') : s];
const bytes = (s: string | Buffer): Buffer[] => {
  const b = typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i++) out.push(b.subarray(i, i + 1));
  return out;
};

/** What a case expects: any subset of the outcome, head fields included. */
type Expected = Omit<Partial<Outcome>, 'head'> & { head?: Partial<NonNullable<Outcome['head']>> };

/** Runs `input` whole and byte by byte; both must give `expected` (fields left out are not compared). */
function check(t: Test, input: string, expected: Expected, opts: { head?: boolean; close?: boolean } = {}): void {
  for (const [how, pieces] of [
    ['whole', whole(input)],
    ['byte by byte', bytes(input)],
  ] as const) {
    const got = run(pieces, opts);
    t.equal(got.misuse, undefined, `${how}: sink contract`);
    t.match(got, expected, how);
    if (expected.error === undefined) t.equal(got.error, undefined, `${how}: no error`);
    if (expected.extra === undefined) t.equal(got.extra, undefined, `${how}: no extra bytes`);
    sameOnTheWire(t, got, run(pieces, { ...opts, wire: true }), how);
  }
}

/**
 * A sink that takes wire heads must see what one that takes lists sees: the same body, end and
 * error, and a wire head (when it gets one) holding the status line the dyno sent and exactly the
 * fields step 6 passes on (downstreamHeaders of the list), in order.
 */
function sameOnTheWire(t: Test, byList: Outcome, byWire: Outcome, how: string): void {
  t.equal(byWire.misuse, undefined, `${how}, wire: sink contract`);
  t.same(
    { body: byWire.body, end: byWire.end, extra: byWire.extra, error: byWire.error, finished: byWire.finished },
    { body: byList.body, end: byList.end, extra: byList.extra, error: byList.error, finished: byList.finished },
    `${how}, wire: same outcome`,
  );
  if (byWire.wire === undefined || byList.head === undefined) return;
  const { status, head, hasLength } = byWire.wire;
  t.equal(status, byList.head.status, `${how}, wire: status`);
  t.ok(head.endsWith('\r\n') && !head.endsWith('\r\n\r\n'), `${how}, wire: lines end in CRLF, no empty line`);
  const eol = head.indexOf('\r\n');
  t.equal(head.slice(0, eol), `HTTP/1.1 ${status} ${byList.head.reason}`, `${how}, wire: status line as sent`);
  const passed = downstreamHeaders(byList.head.raw);
  t.same(fieldList(head.slice(0, -2), eol + 2), passed, `${how}, wire: the fields step 6 passes on`);
  t.equal(
    hasLength,
    passed.some((v, i) => i % 2 === 0 && v.toLowerCase() === 'content-length'),
    `${how}, wire: hasLength`,
  );
}

/** Refused, whole and byte by byte, in `phase`. */
function refused(t: Test, input: string, phase: 'head' | 'body', reason?: RegExp): void {
  for (const [how, pieces] of [
    ['whole', whole(input)],
    ['byte by byte', bytes(input)],
  ] as const) {
    const got = run(pieces);
    t.ok(got.error, `${how}: refused`);
    t.equal(got.error?.phase, phase, `${how}: in the ${phase}`);
    if (reason !== undefined) t.match(got.error?.reason, reason, `${how}: reason`);
    if (phase === 'head') t.equal(got.head, undefined, `${how}: no head delivered`);
    t.not(got.end, true, `${how}: never ends reusable`);
  }
}

t.test('Content-Length', async (t) => {
  check(t, 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello', {
    head: { status: 200, reason: 'OK', raw: ['Content-Length', '5', 'X-A', 'b'] },
    body: 'hello',
    end: true,
  });
  check(t, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', { head: { status: 200 }, body: '', end: true });
  check(t, 'HTTP/1.1 404 Not Found\r\ncontent-length:3\r\n\r\nabc', {
    head: { status: 404, reason: 'Not Found' },
    body: 'abc',
    end: true,
  });
  // Header values lose their surrounding OWS, keep inner spaces; an empty value is fine.
  check(t, 'HTTP/1.1 200 OK\r\nX-A: \t a  b \t\r\nX-E:\r\nContent-Length: 1\r\n\r\nz', {
    head: { raw: ['X-A', 'a  b', 'X-E', '', 'Content-Length', '1'] },
    body: 'z',
    end: true,
  });
  // No reason phrase, with and without the space before it.
  check(t, 'HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n', { head: { status: 200, reason: '' }, end: true });
  check(t, 'HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n', { head: { status: 200, reason: '' }, end: true });
  // A body of a full chunk arrives before its end: no end yet, nothing refused.
  const partial = run(whole('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello'));
  t.equal(partial.body, 'hello');
  t.equal(partial.end, undefined, 'not over until 10 bytes');
  t.same(
    run(whole('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello'), { close: true }).finished,
    false,
    'a close before the length is a truncation',
  );
});

t.test('chunked', async (t) => {
  check(t, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n', {
    head: { status: 200, raw: ['Transfer-Encoding', 'chunked'] },
    body: 'hello world',
    end: true,
  });
  // Upper- and lower-case hex, leading zeros.
  const big = 'x'.repeat(0xab) + 'y'.repeat(0x1f);
  check(
    t,
    `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nAB\r\n${'x'.repeat(0xab)}\r\n001f\r\n${'y'.repeat(0x1f)}\r\n0\r\n\r\n`,
    { body: big, end: true },
  );
  check(t, `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nab\r\n${'x'.repeat(0xab)}\r\n0\r\n\r\n`, {
    body: 'x'.repeat(0xab),
    end: true,
  });
  // Extensions (with BWS before the ;), ignored.
  check(
    t,
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n3 ; a="b c"\r\nabc\r\n0;last\r\n\r\n',
    { body: 'helloabc', end: true },
  );
  // Trailers are read and dropped.
  check(
    t,
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\nX-Checksum: abc\r\nX-Other: d\r\n\r\n',
    { body: 'hi', end: true },
  );
  // Only the 0-size chunk: an empty body.
  check(t, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', { body: '', end: true });
  // Coding names are case-insensitive; chunked as the last of several codings.
  check(t, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, CHUNKED\r\n\r\n1\r\nz\r\n0\r\n\r\n', { body: 'z', end: true });
  check(t, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n', {
    body: 'z',
    end: true,
  });
  // Not over until the last CRLF of the trailer section.
  const open = run(whole('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n'));
  t.equal(open.end, undefined);
  t.equal(
    run(whole('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n'), { close: true }).finished,
    false,
    'a close mid-chunked is a truncation',
  );
});

t.test(
  'a final coding other than chunked is refused before the head (H17): its body could not be forwarded',
  async (t) => {
    // Step 6 drops Transfer-Encoding as hop-by-hop; relayed close-delimited, `gzip` would reach the
    // client as an undecodable body.
    refused(t, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nabc', 'head', /transfer-encoding/);
    refused(t, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc', 'head', /transfer-encoding/);
  },
);

t.test('1xx interim heads are bounded: a dyno streaming 103s without end is refused (H17)', async (t) => {
  const interim = 'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n';
  check(t, interim.repeat(RESPONSE_LIMITS.interimHeads) + 'HTTP/1.1 204 No Content\r\n\r\n', { head: { status: 204 } });
  refused(t, interim.repeat(RESPONSE_LIMITS.interimHeads + 1), 'head', /interim/);
});

t.test('close-delimited: no length, the body ends when the dyno closes, never reusable', async (t) => {
  const r = run(whole('HTTP/1.1 200 OK\r\nX-A: b\r\n\r\nsome body'));
  t.equal(r.body, 'some body');
  t.equal(r.end, undefined, 'not over while the connection is open');
  check(
    t,
    'HTTP/1.1 200 OK\r\nX-A: b\r\n\r\nsome body',
    { body: 'some body', end: false, finished: true },
    { close: true },
  );
  check(t, 'HTTP/1.1 200 OK\r\n\r\n', { body: '', end: false, finished: true }, { close: true });
  // finish() before the head is complete is a truncation, not an end.
  t.equal(run(whole('HTTP/1.1 200 OK\r\nX-A'), { close: true }).finished, false);
  t.equal(run([], { close: true }).finished, false, 'nothing at all');
});

t.test('HEAD: no body whatever the headers say', async (t) => {
  check(
    t,
    'HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n',
    { head: { status: 200, raw: ['Content-Length', '1234'] }, body: '', end: true },
    { head: true },
  );
  check(t, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', { body: '', end: true }, { head: true });
  check(t, 'HTTP/1.1 200 OK\r\n\r\n', { body: '', end: true }, { head: true });
  // A dyno that wrongly sends a body after HEAD: those bytes are extra, and say don't reuse.
  check(
    t,
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello',
    { body: '', end: true, extra: 'hello' },
    { head: true },
  );
});

t.test('204 and 304 have no body', async (t) => {
  check(t, 'HTTP/1.1 204 No Content\r\n\r\n', { head: { status: 204 }, body: '', end: true });
  check(t, 'HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\nETag: "x"\r\n\r\n', {
    head: { status: 304 },
    body: '',
    end: true,
  });
  check(t, 'HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n', {
    head: { status: 204 },
    body: '',
    end: true,
  });
});

t.test('1xx interim responses are skipped; the final head follows', async (t) => {
  check(t, 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', {
    head: { status: 200, reason: 'OK' },
    body: 'ok',
    end: true,
  });
  check(
    t,
    'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n',
    {
      head: { status: 201, raw: ['Content-Length', '0'] },
      body: '',
      end: true,
    },
  );
  // A 1xx is not a final head: a close after it is a truncation.
  t.equal(run(whole('HTTP/1.1 100 Continue\r\n\r\n'), { close: true }).finished, false);
  t.equal(run(whole('HTTP/1.1 100 Continue\r\n\r\n')).head, undefined);
});

t.test('HTTP/1.0 and Connection decide reuse', async (t) => {
  check(t, 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok', { head: { status: 200 }, body: 'ok', end: false });
  check(t, 'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok', { body: 'ok', end: true });
  check(t, 'HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok', { body: 'ok', end: true });
  check(
    t,
    'HTTP/1.0 200 OK\r\n\r\nto the close',
    { body: 'to the close', end: false, finished: true },
    { close: true },
  );
  check(t, 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok', { body: 'ok', end: false });
  check(t, 'HTTP/1.1 200 OK\r\nConnection: x-custom, Close\r\nContent-Length: 2\r\n\r\nok', { body: 'ok', end: false });
  check(t, 'HTTP/1.1 200 OK\r\nConnection: x-custom\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok', {
    body: 'ok',
    end: false,
  });
  check(t, 'HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok', { body: 'ok', end: true });
  // A token that only contains "close" is not close.
  check(t, 'HTTP/1.1 200 OK\r\nConnection: closer\r\nContent-Length: 2\r\n\r\nok', { body: 'ok', end: true });
});

t.test('Transfer-Encoding with Content-Length: TE wins, the length is dropped, not reusable', async (t) => {
  check(t, 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', {
    head: { raw: ['Transfer-Encoding', 'chunked'] },
    body: 'hello',
    end: false,
  });
  // RFC 9112 §6.3: an intermediary that forwards it MUST remove the Content-Length first.
  const r = run(whole('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\ncontent-length: 3\r\nX: y\r\n\r\n0\r\n\r\n'));
  t.same(r.head?.raw, ['Transfer-Encoding', 'chunked', 'X', 'y']);
});

t.test('HTTP/1.0 with Transfer-Encoding: faulty framing, never reused (RFC 9112 §6.1)', async (t) => {
  check(t, 'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n', {
    body: 'ok',
    end: false,
  });
});

t.test('Content-Length lists', async (t) => {
  check(t, 'HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello', {
    head: { raw: ['Content-Length', '5'] },
    body: 'hello',
    end: true,
  });
  check(t, 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\ncontent-length: 5,5\r\n\r\nhello', {
    head: { raw: ['Content-Length', '5', 'X', 'y'] },
    body: 'hello',
    end: true,
  });
  refused(t, 'HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello', 'head', /content-length/);
  refused(t, 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello', 'head', /content-length/);
  refused(t, 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', 'head', /content-length/);
  refused(t, 'HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n', 'head', /content-length/);
  refused(t, 'HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n', 'head', /content-length/);
  refused(t, 'HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n', 'head', /content-length/);
  refused(t, 'HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n', 'head', /content-length/);
});

t.test('malformed heads are refused before any head is delivered', async (t) => {
  const ok = 'Content-Length: 0\r\n\r\n';
  refused(t, `HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n`, 'head'); // bare LF
  refused(t, `HTTP/1.1 200 OK\r\nX-A: b\n${ok}`, 'head'); // bare LF inside the head
  refused(t, `HTTP/1.1 200 OK\r\nContent-Length: 0\n\n`, 'head'); // bare LF ending the head
  refused(t, `HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\n`, 'head');
  refused(t, `HTTP/1.1 200 OK\rX-A: b\r\n${ok}`, 'head'); // bare CR
  refused(t, `HTTP/1.1 200 OK\r\nX-A: b\rc\r\n${ok}`, 'head');
  refused(t, `HTTP/1.1 200 OK\r\nX-A\r: b\r\n${ok}`, 'head');
  refused(t, `HTTP/1.1 200 OK\r\nX-A: b\r\n c\r\n${ok}`, 'head', /header name/); // obs-fold
  refused(t, `HTTP/1.1 200 OK\r\nX-A: b\r\n\tc\r\n${ok}`, 'head', /header name/);
  for (const line of [
    'HTTP/1.1 20 OK',
    'HTTP/1.1 2000 OK',
    'HTTP/1.1 abc OK',
    'HTTP/1.1  200 OK',
    'HTTP/1.2 200 OK',
    'HTTP/2 200 OK',
    'HTTP/1.1 200\tOK',
    'http/1.1 200 OK',
    'ICY 200 OK',
    'HTTP/1.1 099 Low',
    ' HTTP/1.1 200 OK',
    'HTTP/1.1 200 O\x00K',
    'HTTP/1.1 200 O\x7fK',
  ]) {
    refused(t, `${line}\r\n${ok}`, 'head', /status line/);
  }
  refused(t, 'garbage\r\n\r\n', 'head', /status line/);
  refused(t, '\r\n\r\n', 'head', /status line/);
  for (const name of ['X A', 'X(A)', 'X"A', 'X/A', 'X\x00A', 'X\x7fA', 'X\xe9', ' X-A', 'X-A ', '']) {
    refused(t, `HTTP/1.1 200 OK\r\n${name}: v\r\n${ok}`, 'head', /header name/);
  }
  refused(t, `HTTP/1.1 200 OK\r\nNoColon\r\n${ok}`, 'head', /header name/);
  for (const value of ['a\x00b', 'a\x01b', 'a\x7fb', 'a\x1bb']) {
    refused(t, `HTTP/1.1 200 OK\r\nX-A: ${value}\r\n${ok}`, 'head', /header value/);
  }
  // obs-text (0x80–0xff) is allowed in values.
  check(t, `HTTP/1.1 200 OK\r\nX-A: caf\xe9\r\n${ok}`, {
    head: { raw: ['X-A', 'caf\xe9', 'Content-Length', '0'] },
    end: true,
  });
});

t.test('101 on the plain path is delivered as a final head, never reusable', async (t) => {
  check(t, 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n', {
    head: { status: 101 },
    end: false,
  });
});

t.test('head size and header count bounds', async (t) => {
  const filler = `X-Fill: ${'a'.repeat(1000)}\r\n`;
  const under = `HTTP/1.1 200 OK\r\n${filler.repeat(60)}Content-Length: 0\r\n\r\n`;
  t.ok(under.length < RESPONSE_LIMITS.headBytes);
  t.equal(run(whole(under)).end, true, 'just under 64 KiB is fine');
  const over = `HTTP/1.1 200 OK\r\n${filler.repeat(70)}Content-Length: 0\r\n\r\n`;
  t.ok(over.length > RESPONSE_LIMITS.headBytes);
  refused(t, over, 'head', /too large/);
  // Refused as soon as 64 KiB arrived without the end of the head: nothing more is buffered.
  const endless = Buffer.from(`HTTP/1.1 200 OK\r\n${filler.repeat(70)}`, 'latin1');
  const pieces = [];
  for (let i = 0; i < endless.length; i += 1000) pieces.push(endless.subarray(i, i + 1000));
  t.match(run(pieces).error, { reason: /too large/, phase: 'head' }, 'an unterminated head is refused at the bound');
  const headers = (n: number): string => `HTTP/1.1 200 OK\r\n${'X-H: v\r\n'.repeat(n - 1)}Content-Length: 0\r\n\r\n`;
  t.equal(run(whole(headers(200))).end, true, '200 headers are fine');
  refused(t, headers(201), 'head', /too many headers/);
  // 1xx heads count against nothing of the final head.
  t.equal(run(whole(`HTTP/1.1 103 Early Hints\r\n${'Link: <a>\r\n'.repeat(150)}\r\n${headers(200)}`)).end, true);
});

t.test('a head trickling in one byte at a time costs linear time, not quadratic', async (t) => {
  // A dyno controls how its bytes are split; the router's event loop serves every app.
  const headOf = (lines: number): Buffer =>
    Buffer.from(
      `HTTP/1.1 200 OK\r\n${`X-Fill: ${'a'.repeat(500)}\r\n`.repeat(lines)}Content-Length: 0\r\n\r\n`,
      'latin1',
    );
  const big = headOf(124);
  t.ok(big.length < RESPONSE_LIMITS.headBytes && big.length > 60_000);
  const bigPieces = bytes(big);
  t.equal(run(bigPieces).head?.raw.length, 250);
  // Counted, not timed (timing flakes on a shared machine): the bytes the parser scans or copies
  // for a head fed one byte at a time stay a small multiple of its size; re-scanning everything
  // held on each read (the bug this guards) would cost about size² / 2.
  const p = new ResponseParser({ onHead: () => undefined, onBody: () => undefined, onEnd: () => undefined }, false);
  for (const piece of bigPieces) p.execute(piece);
  t.ok(p.done, 'the head was read');
  t.ok(
    p.headWork <= 4 * big.length,
    `head work ${p.headWork} bytes for a ${big.length}-byte head (quadratic would be ~${Math.round((big.length * big.length) / 2)})`,
  );
});

t.test('bad chunk framing is refused in the body phase, after the head', async (t) => {
  const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
  for (const body of [
    'g\r\nhello\r\n0\r\n\r\n', // not hex
    '\r\nhello\r\n0\r\n\r\n', // no size
    '-5\r\nhello\r\n0\r\n\r\n',
    '0x5\r\nhello\r\n0\r\n\r\n',
    '5\nhello\r\n0\r\n\r\n', // bare LF after the size
    '5\rhello\r\n0\r\n\r\n', // bare CR after the size
    '1000000000000\r\n', // 13 digits
    '5;ext\nhello\r\n0\r\n\r\n', // bare LF in an extension
    '5;e\x00xt\r\nhello\r\n0\r\n\r\n', // NUL in an extension
  ]) {
    refused(t, head + body, 'body', /chunk/);
  }
  // The CRLF after chunk data is required: a missing one is where smuggling starts.
  refused(t, `${head}5\r\nhelloX\r\n0\r\n\r\n`, 'body', /chunk data end/);
  refused(t, `${head}5\r\nhello0\r\n\r\n`, 'body', /chunk data end/);
  refused(t, `${head}5\r\nhello\n0\r\n\r\n`, 'body', /chunk data end/);
  refused(t, `${head}5\r\nhello\r0\r\n\r\n`, 'body', /chunk data end/);
  // Trailer lines end with CRLF too.
  refused(t, `${head}0\r\nX: y\n\r\n`, 'body', /trailer/);
  refused(t, `${head}0\r\n\n`, 'body', /trailer/);
  refused(t, `${head}0\r\n\rX`, 'body', /trailer/);
  // The head was delivered before the error.
  const r = run(whole(`${head}5\r\nhelloX`));
  t.equal(r.head?.status, 200);
  t.equal(r.body, 'hello');
});

t.test('bytes after the end come back as extra', async (t) => {
  check(t, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n', {
    body: 'ok',
    end: true,
    extra: 'HTTP/1.1 200 OK\r\n',
  });
  check(t, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\nXYZ', {
    body: 'ok',
    end: true,
    extra: 'XYZ',
  });
  check(t, 'HTTP/1.1 204 No Content\r\n\r\nsurprise', { body: '', end: true, extra: 'surprise' });
  check(t, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n\r\n', { body: '', end: true, extra: '\r\n' });
  // After the end, anything fed is extra: nothing is parsed any more.
  const r = run([
    Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'),
    Buffer.from('more'),
    Buffer.from('\x00'),
  ]);
  t.equal(r.extra, 'more\x00');
  t.equal(r.error, undefined);
});

// ---- property: splitting the input anywhere gives the same sink output ----

/** A random valid response (and whether the request was HEAD), with random trailing bytes sometimes. */
function randomResponse(rand: () => number): { input: Buffer; head: boolean; close: boolean } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const int = (n: number): number => Math.floor(rand() * n);
  const bodyBytes = (n: number): string => {
    let s = '';
    // Body bytes include CR, LF, NUL and anything else: they are data.
    for (let i = 0; i < n; i++) s += String.fromCharCode(pick([int(256), 0x0d, 0x0a, 0x30, 0x61]));
    return s;
  };
  let s = '';
  for (let i = int(3); i > 0; i--)
    s += `HTTP/1.1 ${pick([100, 102, 103])} Info\r\n${int(2) === 0 ? 'Link: <x>\r\n' : ''}\r\n`;
  const version = pick(['1.1', '1.1', '1.0']);
  const status = pick([200, 201, 204, 304, 404, 500]);
  const head = int(5) === 0;
  s += `HTTP/${version} ${status}${pick(['', ' ', ' OK', ' Some Reason'])}\r\n`;
  for (let i = int(6); i > 0; i--)
    s += `X-H${i}:${pick(['', ' ', '\t'])}${bodyBytes(0)}${pick(['v', 'a b', '', 'caf\xe9'])}${pick(['', ' '])}\r\n`;
  if (int(3) === 0) s += `Connection: ${pick(['keep-alive', 'close', 'x, close', 'keep-alive, x'])}\r\n`;
  const framing = pick(['length', 'length', 'chunked', 'chunked', 'close']);
  let body = '';
  const noBody = head || status === 204 || status === 304;
  if (framing === 'length') {
    const n = int(300);
    s += `Content-Length: ${n}\r\n\r\n`;
    if (!noBody) body = bodyBytes(n);
  } else if (framing === 'chunked') {
    s += 'Transfer-Encoding: chunked\r\n\r\n';
    if (!noBody) {
      for (let i = int(5); i > 0; i--) {
        const n = 1 + int(100);
        const size = n.toString(16);
        body += `${pick([size, size.toUpperCase(), `00${size}`])}${pick(['', ';ext', ' ;a=b', ';q="x y"'])}\r\n${bodyBytes(n)}\r\n`;
      }
      body += `0${pick(['', ';end'])}\r\n${int(3) === 0 ? 'X-Trailer: t\r\n' : ''}\r\n`;
    }
  } else {
    s += '\r\n';
    if (!noBody) body = bodyBytes(int(200));
  }
  const close = framing === 'close' && !noBody;
  // Trailing bytes only where the body has an end of its own.
  const tail = !close && int(4) === 0 ? bodyBytes(1 + int(20)) : '';
  return { input: Buffer.from(s + body + tail, 'latin1'), head, close };
}

/** The sink output without the slicing of the body (which depends on how the input was split). */
function norm(o: Outcome): string {
  return JSON.stringify([o.head, o.body, o.end, o.extra, o.error, o.finished, o.misuse]);
}

t.test('property: any split of a valid response gives the output of the whole', async (t) => {
  const rand = prng(0x5eed);
  let cases = 0;
  let wireHeads = 0;
  for (let n = 0; n < 300; n++) {
    const r = randomResponse(rand);
    const opts = { head: r.head, close: r.close };
    const one = run([r.input], opts);
    if (one.error !== undefined || one.misuse !== undefined || one.head === undefined) {
      t.fail(`case ${n} is valid`, { input: r.input.toString('latin1'), one });
      continue;
    }
    const expected = norm(one);
    const wired = { ...opts, wire: true };
    const oneWire = run([r.input], wired);
    sameOnTheWire(t, one, oneWire, `case ${n}`);
    if (oneWire.wire !== undefined) wireHeads++;
    const expectedWire = JSON.stringify(oneWire);
    // Every single split point, for both kinds of sink …
    for (let at = 0; at <= r.input.length; at++) {
      const split = [r.input.subarray(0, at), r.input.subarray(at)];
      const got = norm(run(split, opts));
      const gotWire = JSON.stringify(run(split, wired));
      if (got !== expected || gotWire !== expectedWire) {
        t.fail(`case ${n} split at ${at}`, { input: r.input.toString('latin1'), got, expected, gotWire, expectedWire });
        break;
      }
      cases++;
    }
    // … and random multi-splits, down to single bytes.
    for (let k = 0; k < 10; k++) {
      const pieces: Buffer[] = [];
      for (let at = 0; at < r.input.length;) {
        const len = k === 0 ? 1 : 1 + Math.floor(rand() * 40);
        pieces.push(r.input.subarray(at, at + len));
        at += len;
      }
      const got = norm(run(pieces, opts));
      if (got !== expected) {
        t.fail(`case ${n} multi-split ${k}`, { input: r.input.toString('latin1'), got, expected });
        break;
      }
      cases++;
    }
  }
  t.ok(cases > 10_000, `${cases} splits agreed`);
  t.ok(wireHeads > 30, `${wireHeads} of 300 heads passed on in wire form`);
});
