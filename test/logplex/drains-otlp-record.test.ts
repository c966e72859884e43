// The pieces of an OTLP LogRecord (design.md §Drains): severity from the syslog PRI and back,
// RFC 3339 times with every fraction digit, the logfmt reader of router lines (a table, and a
// property: whatever the shared logfmt writer writes reads back the same), and Retry-After.
import t from 'tap';
import { logfmt } from '../../src/shared/log';
import { retryAfter } from '../../src/logplex/drains/http-post';
import { MAX_PAIRS, parseLogfmt } from '../../src/logplex/drains/logfmt';
import { hrTimeOf, SEVERITY } from '../../src/logplex/drains/otlp-record';
import { syslogSeverity } from '../../src/logplex/ingest/otlp';

t.test('syslog severity → OTLP SeverityNumber → syslog severity is the identity', async (t) => {
  t.same(
    SEVERITY.map(([n, text]) => `${n} ${text}`),
    ['24 emerg', '23 alert', '21 crit', '17 err', '13 warning', '10 notice', '9 info', '5 debug'],
  );
  for (let sev = 0; sev < 8; sev++) t.equal(syslogSeverity(SEVERITY[sev]![0]), sev, `severity ${sev}`);
  t.equal(syslogSeverity(0), 6, 'unspecified is informational');
  t.equal(syslogSeverity(1), 7, 'TRACE is debug');
  t.equal(syslogSeverity(22), 2, 'FATAL2 is crit');
});

t.test('times keep every fraction digit; unreadable times are undefined', async (t) => {
  const cases: [string, [number, number] | undefined][] = [
    ['2026-11-26T10:00:00.123456+00:00', [1795687200, 123456000]],
    ['2026-11-26T10:00:00Z', [1795687200, 0]],
    ['2026-11-26T11:00:00.5+01:00', [1795687200, 500000000]],
    ['2026-11-26T10:00:00.123456789Z', [1795687200, 123456789]],
    ['2026-11-26 10:00:00Z', undefined],
    ['-', undefined],
  ];
  for (const [time, hr] of cases) t.same(hrTimeOf(time), hr, time);
});

t.test('logfmt: the router line shape, quotes, bare words and limits', async (t) => {
  const cases: [string, [string, string][]][] = [
    [
      'at=info status=200',
      [
        ['at', 'info'],
        ['status', '200'],
      ],
    ],
    [
      'path="/a b" x=1',
      [
        ['path', '/a b'],
        ['x', '1'],
      ],
    ],
    [
      'q="say \\"hi\\"" y=\\n',
      [
        ['q', 'say "hi"'],
        ['y', '\\n'],
      ],
    ],
    ['just words here', []],
    [
      'k= v=2',
      [
        ['k', ''],
        ['v', '2'],
      ],
    ],
    ['=x "a"=b c=3', [['c', '3']]],
    ['unterminated="abc', []],
    [`${'k'.repeat(65)}=1 ok=2`, [['ok', '2']]],
  ];
  for (const [msg, want] of cases) t.same(parseLogfmt(msg), want, msg);
  const many = Array.from({ length: 100 }, (_, i) => `k${i}=${i}`).join(' ');
  t.equal(parseLogfmt(many).length, MAX_PAIRS, 'at most MAX_PAIRS pairs');
});

t.test('logfmt property: what the shared writer writes, the reader reads back', async (t) => {
  let seed = 42;
  const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
  const alphabet = 'ab =\\"/:.-_x1 é\t';
  for (let round = 0; round < 500; round++) {
    const fields: Record<string, string> = {};
    const n = 1 + rand(6);
    for (let i = 0; i < n; i++) {
      let v = '';
      for (let j = rand(12); j > 0; j--) v += alphabet[rand(alphabet.length)];
      fields[`f${i}`] = v;
    }
    // The writer turns control characters (the tab) into spaces; the reader sees what it wrote.
    const written = Object.entries(fields).map(([k, v]) => [k, v.replace(/[\x00-\x1f\x7f]/g, ' ')]);
    t.same(parseLogfmt(logfmt(fields)), written, logfmt(fields));
  }
});

t.test('Retry-After: seconds or an HTTP-date, capped; anything else is ignored', async (t) => {
  const now = Date.parse('2026-11-26T10:00:00Z');
  t.equal(retryAfter('3', now), 3000);
  t.equal(retryAfter('Thu, 26 Nov 2026 10:00:10 GMT', now), 10_000);
  t.equal(retryAfter('86400', now), 300_000, 'capped at five minutes');
  for (const v of [undefined, '', '0', '-1', 'soon', 'Thu, 26 Nov 2026 09:00:00 GMT'])
    t.equal(retryAfter(v, now), undefined, String(v));
});
