// RequestParser on its own (it is pure): feed Buffers, collect what it hands the sink, the way
// client/connection.ts drives it (execute until the input is used, `next()` after each message).
// Every case also runs byte by byte: a client splits its bytes wherever it likes.
import t, { type Test } from 'tap';
import { REQUEST_LIMITS } from '../../src/router/client/limits';
import { RequestParseError, RequestParser, type RequestHead } from '../../src/router/client/request-parser';
import { prng } from '../fixtures/prng';

interface Outcome {
  heads: Omit<RequestHead, 'connection'>[];
  bodies: string[];
  ends: number;
  error?: { refusal: string; reason: string; phase: string };
  misuse?: string;
}

function run(pieces: Buffer[]): Outcome {
  const out: Outcome = { heads: [], bodies: [], ends: 0 };
  let inBody = false;
  const parser = new RequestParser({
    onHead(h) {
      if (inBody) out.misuse = 'head inside a body';
      const { connection: _c, ...rest } = h;
      out.heads.push(rest);
      out.bodies.push('');
      inBody = h.length !== 0;
    },
    onBody(chunk) {
      if (!inBody) out.misuse = 'body outside a message';
      out.bodies[out.bodies.length - 1] += chunk.toString('latin1');
    },
    onEnd() {
      if (!inBody) out.misuse = 'end outside a message';
      inBody = false;
      out.ends++;
    },
  });
  try {
    for (const p of pieces) {
      let at = 0;
      let guard = 0;
      while (at < p.length) {
        if (parser.done) parser.next();
        const next = parser.execute(p, at);
        if (next === at && ++guard > 2) throw new Error('no progress');
        at = next;
      }
    }
  } catch (err) {
    if (!(err instanceof RequestParseError)) throw err;
    out.error = { refusal: err.refusal, reason: err.reason, phase: err.phase };
  }
  return out;
}

const buf = (s: string): Buffer => Buffer.from(s, 'latin1');
const bytes = (s: string): Buffer[] => {
  const b = buf(s);
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i++) out.push(b.subarray(i, i + 1));
  return out;
};

type Expected = Omit<Partial<Outcome>, 'heads'> & { heads?: Partial<Outcome['heads'][number]>[] };

function check(t: Test, input: string, expected: Expected | ((o: Outcome) => void), name = input): void {
  for (const [how, pieces] of [
    ['whole', [buf(input)]],
    ['byte by byte', bytes(input)],
  ] as [string, Buffer[]][]) {
    const got = run(pieces);
    t.equal(got.misuse, undefined, `${name} ${how}: sink contract`);
    if (typeof expected === 'function') expected(got);
    else t.match(got, expected, `${name} ${how}`);
  }
}

function refused(t: Test, input: string, refusal: string, reason?: RegExp, name = input.slice(0, 60)): void {
  for (const [how, pieces] of [
    ['whole', [buf(input)]],
    ['byte by byte', bytes(input)],
  ] as [string, Buffer[]][]) {
    const got = run(pieces);
    t.equal(got.error?.refusal, refusal, `${name} ${how}: ${refusal}`);
    if (reason !== undefined) t.match(got.error?.reason, reason, `${name} ${how}: reason`);
  }
}

const H = 'Host: a.example\r\n';

t.test('a GET: method, origin-form target, authority from Host, keep-alive by default in 1.1', async (t) => {
  check(t, `GET /x?y=1 HTTP/1.1\r\n${H}Accept: */*\r\n\r\n`, {
    heads: [
      {
        method: 'GET',
        target: '/x?y=1',
        authority: 'a.example',
        minor: 1,
        rawHeaders: ['Host', 'a.example', 'Accept', '*/*'],
        length: 0,
        keepAlive: true,
        expectContinue: false,
        upgrade: undefined,
      },
    ],
    ends: 0,
  });
});

t.test(
  'the header section passes through as sent unless a field is one the router drops or sets (step 6)',
  async (t) => {
    check(t, `GET / HTTP/1.1\r\n${H}Accept:  */*  \r\nCookie: a=b\r\n\r\n`, {
      heads: [{ passThrough: `${H}Accept:  */*  \r\nCookie: a=b\r\n` }],
    });
    // A Connection of only keep-alive or close names no other field: its line is left out, the
    // rest passes as sent, wherever the line stands.
    for (const c of ['keep-alive', 'Keep-Alive', 'close', 'CLOSE'])
      check(t, `GET / HTTP/1.1\r\nConnection: ${c}\r\n${H}Cookie: a=b\r\nConnection:  ${c} \r\n\r\n`, {
        heads: [{ passThrough: `${H}Cookie: a=b\r\n` }],
      });
    for (const field of [
      'Connection: keep-alive, x-secret',
      'Connection: upgrade',
      'Connection: closed',
      'X-Forwarded-For: 1.2.3.4',
      'Via: 1.0 x',
      'TE: trailers',
      'Expect: 100-continue',
    ])
      check(t, `GET / HTTP/1.1\r\n${H}${field}\r\n\r\n`, { heads: [{ passThrough: undefined }] }, field);
    check(t, `GET http://b.example/ HTTP/1.1\r\n${H}\r\n`, { heads: [{ passThrough: undefined }] }, 'absolute-form');
    check(t, 'GET / HTTP/1.0\r\n\r\n', { heads: [{ passThrough: '' }] }, 'no fields');
  },
);

t.test('Content-Length and chunked bodies arrive whole and de-chunked', async (t) => {
  check(t, `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello`, { bodies: ['hello'], ends: 1 });
  check(
    t,
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n`,
    {
      heads: [{ length: -1 }],
      bodies: ['abcde'],
      ends: 1,
    },
  );
  check(t, `POST / HTTP/1.1\r\n${H}Transfer-Encoding: Chunked\r\n\r\n0\r\n\r\n`, { bodies: [''], ends: 1 });
});

t.test('pipelined requests: each head and body in order', async (t) => {
  const two = `POST /a HTTP/1.1\r\n${H}Content-Length: 2\r\n\r\nhiGET /b HTTP/1.1\r\n${H}\r\n`;
  check(t, two, (o) => {
    t.same(
      o.heads.map((h) => h.target),
      ['/a', '/b'],
    );
    t.same(o.bodies, ['hi', '']);
  });
});

t.test(
  'HTTP/1.0: close by default, keep-alive on request; Transfer-Encoding means close (RFC 9112 §6.1)',
  async (t) => {
    check(t, 'GET / HTTP/1.0\r\n\r\n', { heads: [{ minor: 0, keepAlive: false, authority: '' }] });
    check(t, 'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n', { heads: [{ keepAlive: true }] });
    check(t, `POST / HTTP/1.0\r\n${H}Connection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, {
      heads: [{ keepAlive: false, length: -1 }],
    });
    check(t, `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`, { heads: [{ keepAlive: false }] });
  },
);

t.test('Host: exactly one, non-empty, valid in HTTP/1.1 (RFC 9112 §3.2)', async (t) => {
  refused(t, 'GET / HTTP/1.1\r\n\r\n', 'malformed', /missing host/);
  refused(t, `GET / HTTP/1.1\r\n${H}Host: b.example\r\n\r\n`, 'malformed', /repeated host/);
  refused(t, `GET / HTTP/1.1\r\n${H}${H}\r\n`, 'malformed', /repeated host/);
  refused(t, 'GET / HTTP/1.1\r\nHost:\r\n\r\n', 'malformed', /host/);
  refused(t, 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n', 'malformed', /host/);
  check(t, 'GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n', { heads: [{ authority: '[::1]:8080' }] });
});

t.test('absolute-form: sent on as origin-form, its authority wins over Host (RFC 9112 §3.2.2)', async (t) => {
  check(t, `GET http://b.example/x?q HTTP/1.1\r\n${H}\r\n`, {
    heads: [{ target: '/x?q', authority: 'b.example', rawHeaders: ['Host', 'b.example'] }],
  });
  check(t, `GET http://b.example HTTP/1.1\r\n${H}\r\n`, { heads: [{ target: '/' }] });
  check(t, `GET HTTPS://b.example?q HTTP/1.1\r\n${H}\r\n`, { heads: [{ target: '/?q' }] });
  refused(t, `GET http://u@b.example/ HTTP/1.1\r\n${H}\r\n`, 'malformed', /target/);
  refused(t, `GET ftp://b.example/ HTTP/1.1\r\n${H}\r\n`, 'malformed', /target/);
});

t.test('methods are extensible (RFC 9110 §9.1): any token but CONNECT', async (t) => {
  for (const m of ['PROPFIND', 'WIBBLE', 'PATCH', 'M-SEARCH', 'purge'])
    check(t, `${m} / HTTP/1.1\r\n${H}\r\n`, { heads: [{ method: m }] }, m);
  refused(t, 'CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n', 'malformed', /CONNECT/);
  refused(t, `G(T / HTTP/1.1\r\n${H}\r\n`, 'malformed', /method/);
  refused(t, `OPTIONS * HTTP/1.1\r\n${H}\r\n`.replace('OPTIONS', 'GET'), 'malformed', /asterisk/);
  check(t, `OPTIONS * HTTP/1.1\r\n${H}\r\n`, { heads: [{ target: '*' }] });
});

t.test('versions: 1.0 and 1.1 only; HTTP/2.0 on this port is 505, garbage is 400', async (t) => {
  refused(t, `GET / HTTP/2.0\r\n${H}\r\n`, 'version');
  refused(t, `GET / HTTP/0.9\r\n${H}\r\n`, 'version');
  refused(t, `GET / HTTP/1.10\r\n${H}\r\n`, 'malformed', /version/);
  refused(t, `GET / http/1.1\r\n${H}\r\n`, 'malformed', /version/);
  refused(t, `GET /\r\n${H}\r\n`, 'malformed');
});

t.test('Expect: 100-continue only from HTTP/1.1; empty is ignored; anything else is 417', async (t) => {
  check(t, `POST / HTTP/1.1\r\n${H}Expect: 100-Continue\r\nContent-Length: 1\r\n\r\nx`, {
    heads: [{ expectContinue: true }],
  });
  check(t, `POST / HTTP/1.0\r\n${H}Expect: 100-continue\r\nContent-Length: 1\r\n\r\nx`, {
    heads: [{ expectContinue: false }],
  });
  check(t, `GET / HTTP/1.1\r\n${H}Expect:\r\n\r\n`, { heads: [{ expectContinue: false }] });
  refused(t, `GET / HTTP/1.1\r\n${H}Expect: teapot\r\n\r\n`, 'expectation');
});

t.test('Upgrade only with Connection: upgrade in HTTP/1.1', async (t) => {
  check(t, `GET / HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n`, {
    heads: [{ upgrade: 'websocket' }],
  });
  check(t, `GET / HTTP/1.1\r\n${H}Upgrade: websocket\r\n\r\n`, { heads: [{ upgrade: undefined }] });
  check(t, `GET / HTTP/1.0\r\n${H}Connection: upgrade\r\nUpgrade: websocket\r\n\r\n`, {
    heads: [{ upgrade: undefined }],
  });
});

t.test('leading empty lines before a request line are skipped (RFC 9112 §2.2)', async (t) => {
  check(t, `\r\n\r\nGET / HTTP/1.1\r\n${H}\r\n`, { heads: [{ method: 'GET' }] });
  // Between pipelined requests too (some clients end a body with an extra CRLF).
  check(t, `POST / HTTP/1.1\r\n${H}Content-Length: 1\r\n\r\nx\r\nGET /b HTTP/1.1\r\n${H}\r\n`, (o) =>
    t.equal(o.heads[1]?.target, '/b'),
  );
});

t.test('limits: line, header count, whole head; a long line is refused before the head ends', async (t) => {
  const fine = `GET / HTTP/1.1\r\n${H}X-A: ${'a'.repeat(REQUEST_LIMITS.lineBytes - 5)}\r\n\r\n`;
  check(t, fine, { heads: [{ method: 'GET' }] }, 'a header line at the limit');
  refused(t, `GET / HTTP/1.1\r\n${H}X-A: ${'a'.repeat(REQUEST_LIMITS.lineBytes)}\r\n\r\n`, 'too-large');
  refused(t, `GET /${'a'.repeat(REQUEST_LIMITS.lineBytes)} HTTP/1.1\r\n${H}\r\n`, 'too-large');
  const many = (n: number): string => `GET / HTTP/1.1\r\n${H}${'X-H: v\r\n'.repeat(n - 1)}\r\n`;
  check(t, many(REQUEST_LIMITS.headers), (o) => t.equal(o.heads[0]?.rawHeaders.length, REQUEST_LIMITS.headers * 2));
  refused(t, many(REQUEST_LIMITS.headers + 1), 'too-large', /too many headers/);
  const lines = Math.ceil(REQUEST_LIMITS.headBytes / 4000) + 1;
  refused(t, `GET / HTTP/1.1\r\n${H}${`X-F: ${'f'.repeat(4000)}\r\n`.repeat(lines)}\r\n`, 'too-large');
  // An unfinished line past the limit is refused as soon as it passes it, not at the end of the head.
  const p = new RequestParser({ onHead: () => undefined, onBody: () => undefined, onEnd: () => undefined });
  let refusal = '';
  try {
    p.execute(buf(`GET / HTTP/1.1\r\nX-Slow: ${'s'.repeat(REQUEST_LIMITS.lineBytes + 10)}`), 0);
  } catch (err) {
    refusal = (err as RequestParseError).refusal;
  }
  t.equal(refusal, 'too-large');
});

t.test('a head trickling in one byte at a time costs linear work, not quadratic', async (t) => {
  const head = buf(`GET / HTTP/1.1\r\n${H}${`X-Fill: ${'a'.repeat(500)}\r\n`.repeat(99)}\r\n`);
  // Counted, not timed: re-scanning what is held on each byte would cost about size² / 2.
  const q = new RequestParser({ onHead: () => undefined, onBody: () => undefined, onEnd: () => undefined });
  for (const piece of bytes(head.toString('latin1'))) q.execute(piece, 0);
  t.ok(q.done, 'the head was read');
  t.ok(q.headWork < 4 * head.length, `work ${q.headWork} for ${head.length} bytes`);
});

t.test('bad chunk framing is refused in the body phase', async (t) => {
  const c = `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`;
  refused(t, `${c}zz\r\n`, 'malformed', /chunk size/);
  refused(t, `${c}3\r\nabcX\r\n`, 'malformed', /chunk data end/);
  refused(t, `${c}3\nabc\r\n`, 'malformed');
  refused(t, `${c}${'1'.repeat(REQUEST_LIMITS.chunkSizeDigits + 1)}\r\n`, 'malformed', /chunk size/);
  refused(t, `${c}1;${'e'.repeat(REQUEST_LIMITS.chunkExtBytes + 1)}\r\n`, 'too-large', /extension/);
  refused(t, `${c}0\r\nX: 1\n\r\n`, 'malformed', /trailer/);
});

function randomRequests(rand: () => number): Buffer {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  let out = '';
  const n = 1 + Math.floor(rand() * 3);
  for (let i = 0; i < n; i++) {
    const method = pick(['GET', 'POST', 'PUT', 'PROPFIND', 'DELETE']);
    const target = pick(['/', '/a/b?c=d', 'http://x.example/p', '/%20x']);
    let head = `${method} ${target} HTTP/1.${pick(['0', '1'])}\r\nHost: h${i}.example\r\n`;
    for (let k = Math.floor(rand() * 5); k > 0; k--) head += `X-${k}: ${'v'.repeat(Math.floor(rand() * 30))}\r\n`;
    const body = 'b'.repeat(Math.floor(rand() * 50));
    const how = pick(['none', 'length', 'chunked']);
    if (how === 'length') out += `${head}Content-Length: ${body.length}\r\n\r\n${body}`;
    else if (how === 'chunked') {
      let chunks = '';
      for (let at = 0; at < body.length;) {
        const len = 1 + Math.floor(rand() * 20);
        const part = body.slice(at, at + len);
        chunks += `${part.length.toString(16)}\r\n${part}\r\n`;
        at += len;
      }
      out += `${head}Transfer-Encoding: chunked\r\n\r\n${chunks}0\r\n\r\n`;
    } else out += `${head}\r\n`;
  }
  return buf(out);
}

const norm = (o: Outcome): string => JSON.stringify([o.heads, o.bodies, o.ends, o.error, o.misuse]);

t.test('property: any split of valid requests gives the output of the whole', async (t) => {
  const rand = prng(0xc0ffee);
  let cases = 0;
  for (let n = 0; n < 200; n++) {
    const input = randomRequests(rand);
    const one = run([input]);
    if (one.error !== undefined || one.misuse !== undefined || one.heads.length === 0) {
      t.fail(`case ${n} is valid`, { input: input.toString('latin1'), one });
      continue;
    }
    const expected = norm(one);
    for (let at = 0; at <= input.length; at++) {
      const got = norm(run([input.subarray(0, at), input.subarray(at)]));
      if (got !== expected) {
        t.fail(`case ${n} split at ${at}`, { input: input.toString('latin1'), got, expected });
        break;
      }
      cases++;
    }
    const pieces: Buffer[] = [];
    for (let at = 0; at < input.length;) {
      const len = 1 + Math.floor(rand() * 7);
      pieces.push(input.subarray(at, at + len));
      at += len;
    }
    t.equal(norm(run(pieces)), expected, `case ${n} in random pieces`);
  }
  t.ok(cases > 10_000, `${cases} splits checked`);
});

t.test('property: any split of a malformed request gives the same refusal', async (t) => {
  const bad = [
    `POST / HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    `GET / HTTP/1.1\r\n${H}X: a\r\n b\r\n\r\n`,
    `GET / HTTP/1.1\n${H}\n`,
    `POST / HTTP/1.1\r\n${H}Content-Length: 1\r\nContent-Length: 1\r\n\r\nx`,
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nabcdefg\r\n`,
    `GET / HTTP/2.0\r\n${H}\r\n`,
  ];
  for (const s of bad) {
    const input = buf(s);
    const expected = run([input]).error;
    t.ok(expected, `refused whole: ${JSON.stringify(s.slice(0, 40))}`);
    for (let at = 0; at <= input.length; at++) {
      const got = run([input.subarray(0, at), input.subarray(at)]).error;
      if (got?.refusal !== expected?.refusal) {
        t.fail(`split at ${at}`, { s, got, expected });
        break;
      }
    }
  }
});
