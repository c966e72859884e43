// Step 1: malformed framing is refused with 400 H26 and nothing reaches a dyno; oversized heads
// are 431 H25; a client too slow with its headers gets 408 H28. Raw bytes on raw sockets, each
// rule cited (RFC 9112 §6 message body length, §5.2 obs-fold, §2.2 line endings).
import t from 'tap';
import { startDyno } from '../fixtures/dyno';
import { app, dyno, startPlane } from '../fixtures/plane';
import { rawExchange } from '../fixtures/raw-client';

/** Writes `bytes`, resolves with everything read until the router closes the connection. */
const exchange = async (port: number, bytes: string, settleMs = 300): Promise<string> =>
  (await rawExchange(port, bytes, { endAfterMs: settleMs, maxMs: settleMs * 10 })).text;

const H = 'Host: hello.localhost\r\n';
const smuggling: [string, string][] = [
  [
    'both Content-Length and Transfer-Encoding (RFC 9112 §6.1)',
    `POST / HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n${H}\r\n`,
  ],
  [
    'differing duplicate Content-Length (§6.3)',
    `POST / HTTP/1.1\r\n${H}Content-Length: 4\r\nContent-Length: 5\r\n\r\nabcde`,
  ],
  [
    'identical duplicate Content-Length (§6.3, refused anyway)',
    `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc`,
  ],
  ['invalid Content-Length (§6.3)', `POST / HTTP/1.1\r\n${H}Content-Length: 3x\r\n\r\nabc`],
  ['negative Content-Length (§6.3)', `POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\nabc`],
  ['invalid chunk size (§7.1)', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`],
  ['Transfer-Encoding other than chunked (§6.1)', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\nabc`],
  ['chunked not last (§6.1)', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n`],
  ['obs-fold header continuation (§5.2)', `GET / HTTP/1.1\r\n${H}X-Folded: a\r\n b\r\n\r\n`],
  ['bare LF line endings (§2.2)', `GET / HTTP/1.1\n${H.replace('\r\n', '\n')}\n`],
  ['space before the colon (§5.1)', `GET / HTTP/1.1\r\n${H}Content-Length : 0\r\n\r\n`],
  ['Content-Length as a list of equal values (§6.3)', `POST / HTTP/1.1\r\n${H}Content-Length: 3, 3\r\n\r\nabc`],
  ['Content-Length with a sign (§6.3)', `POST / HTTP/1.1\r\n${H}Content-Length: +3\r\n\r\nabc`],
  [
    'Transfer-Encoding chunked twice (§6.1)',
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n`,
  ],
  [
    'Transfer-Encoding in two fields (§6.1)',
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n`,
  ],
  ['Transfer-Encoding misspelt (§6.1)', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`],
  [
    'Transfer-Encoding with a vertical tab (§5.5)',
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n`,
  ],
  ['NUL in a header value (§5.5)', `GET / HTTP/1.1\r\n${H}X-A: a\x00b\r\n\r\n`],
  ['bare CR inside a header line (§2.2)', `GET / HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n`],
  [
    'chunk size with a 0x prefix (§7.1)',
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n`,
  ],
  [
    'chunk data longer than its size (§7.1)',
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n`,
  ],
  [
    'bare LF in a chunk extension (§7.1.1)',
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;a\nb\r\nabc\r\n0\r\n\r\n`,
  ],
  ['two Host fields (RFC 9112 §3.2)', `GET / HTTP/1.1\r\n${H}Host: other.localhost\r\n\r\n`],
  ['a space inside the request target (§3.2)', `GET /a b HTTP/1.1\r\n${H}\r\n`],
  ['a tab between method and target (§3)', `GET\t/ HTTP/1.1\r\n${H}\r\n`],
];

t.test('smuggling patterns: 400 H26, and the dyno sees nothing', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])]);
  for (const [name, bytes] of smuggling) {
    const before = p.lines.length;
    const got = await exchange(p.plane.port, bytes);
    t.match(got, /^HTTP\/1\.1 400 /, name);
    t.match(got, /H26/, `${name}: page names H26`);
    t.equal(d.seen.length, 0, `${name}: no complete request forwarded`);
    // Bodies that fit ROUTER_BUFFER_BODY_BYTES are read whole before admission: even a bad chunk
    // is refused before a dyno is picked.
    t.equal(d.heads(), 0, `${name}: not even a head forwarded`);
    t.match(p.lines[before] ?? '', /^at=error code=H26 desc="Request Error" /, `${name}: logged`);
  }
});

t.test('H25: a header line over 8 KiB, more than 100 headers, or a long request line → 431', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])]);
  const many = Array.from({ length: 101 }, (_, i) => `X-H${i}: v\r\n`).join('');
  const cases: [string, string][] = [
    ['header line of 9 KiB', `GET / HTTP/1.1\r\n${H}X-Big: ${'a'.repeat(9 * 1024)}\r\n\r\n`],
    ['101 headers', `GET / HTTP/1.1\r\n${H}${many}\r\n`],
    ['request line of 9 KiB', `GET /${'a'.repeat(9 * 1024)} HTTP/1.1\r\n${H}\r\n`],
    [
      'header section beyond the total',
      `GET / HTTP/1.1\r\n${H}${Array.from({ length: 110 }, (_, i) => `X-H${i}: ${'b'.repeat(8000)}\r\n`).join('')}\r\n`,
    ],
  ];
  for (const [name, bytes] of cases) {
    const got = await exchange(p.plane.port, bytes);
    t.match(got, /^HTTP\/1\.1 431 /, name);
    t.match(got, /H25/, name);
  }
  t.equal(d.seen.length, 0);
  const ok = await exchange(
    p.plane.port,
    `GET / HTTP/1.1\r\n${H}X-Fine: ${'a'.repeat(7 * 1024)}\r\nConnection: close\r\n\r\n`,
  );
  t.match(ok, /^HTTP\/1\.1 200 /, 'a 7 KiB header line is fine');
});

t.test('H28: headers not finished within ROUTER_HEADERS_TIMEOUT_MS → 408', async (t) => {
  const d = await startDyno(t);
  const p = await startPlane(t, [app('hello', [dyno('web.1', d.port)])], { ROUTER_HEADERS_TIMEOUT_MS: '200' });
  const { text: got } = await rawExchange(p.plane.port, 'GET / HTTP/1.1\r\nHost: hello.localhost\r\nX-Slow: ', {
    maxMs: 5_000,
  });
  t.match(got, /^HTTP\/1\.1 408 /);
  t.match(got, /H28/);
  t.equal(d.seen.length, 0);
  t.match(p.lines[0]!, /^at=error code=H28 desc="Client Connection Idle" /);
});
