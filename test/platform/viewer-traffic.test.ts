// The viewer's traffic model (src/logplex/viewer/traffic.js, design.md §Router line) run in a
// plain V8 context: router lines → per-second buckets, status classes, service-time percentiles,
// H-codes and per-dyno counts; other lines ignored; the 15-minute window and the per-second
// sample bound hold.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import t from 'tap';

interface Line {
  time: string;
  source: string;
  ps: string;
  msg: string;
}
interface Traffic {
  add(l: Line): boolean;
  requests: number;
  buckets: Map<number, { samples: number[] }>;
  series(from: number, to: number): Record<string, Record<string, (number | undefined)[]>>;
}

function load(): { Traffic: new () => Traffic; fields(msg: string): Record<string, string> } {
  const src = readFileSync(join(__dirname, '..', '..', '..', 'src', 'logplex', 'viewer', 'traffic.js'), 'utf8');
  const window: Record<string, unknown> = {};
  runInNewContext(src, { window, Map, Math, Date, Number, Object, Array, isNaN, parseFloat });
  return window.SwitchyardTraffic as ReturnType<typeof load>;
}

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
const at = (s: number, ms = 0): string => new Date(T0 + s * 1000 + ms).toISOString().replace('Z', '+00:00');
const router = (s: number, status: number, service: number, dyno = 'web.1', code?: string): Line => ({
  time: at(s, 250),
  source: 'heroku',
  ps: 'router',
  msg:
    (code ? `at=error code=${code} desc="Some \\"quoted\\" text"` : 'at=info') +
    ` method=GET path="/a b" host=x.localhost request_id=r fwd="127.0.0.1" dyno=${dyno} connect=0ms service=${service}ms status=${status} bytes=1 protocol=http`,
});

t.test('fields: logfmt with quoted values', async (t) => {
  const { fields } = load();
  t.match(fields('at=error code=H12 desc="Request \\"timeout\\"" path="/a b" dyno= status=503'), {
    at: 'error',
    code: 'H12',
    desc: 'Request "timeout"',
    path: '/a b',
    dyno: '',
    status: '503',
  });
});

t.test('router lines become per-second series; other lines do not count', async (t) => {
  const { Traffic } = load();
  const tr = new Traffic();
  t.equal(tr.add({ time: at(0), source: 'app', ps: 'web.1', msg: 'status=500 service=9ms' }), false);
  for (let i = 1; i <= 100; i++) tr.add(router(0, 200, i, i % 2 ? 'web.1' : 'web.2'));
  tr.add(router(0, 404, 1));
  tr.add(router(2, 503, 30_000, '', 'H12'));
  tr.add(router(2, 101, 5));
  t.equal(tr.requests, 103);
  const s = tr.series(T0 / 1000, T0 / 1000 + 2);
  t.same(s.rps!['2xx'], [100, 0, 1], '101 counts with 2xx');
  t.same(s.rps!['4xx'], [1, 0, 0]);
  t.same(s.rps!['5xx'], [0, 0, 1]);
  t.same(s.service!.p50, [50, undefined, 5], 'p50 of 1..100 and 1 is 50');
  t.same(s.service!.p95, [95, undefined, 30_000]);
  t.same(s.service!.p99, [99, undefined, 30_000]);
  t.same(s.codes, { H12: [0, 0, 1] });
  t.same(s.dynos, { 'web.1': [51, 0, 1], 'web.2': [50, 0, 0] });
});

t.test('bounded: 500 samples a second, 15 minutes of seconds', async (t) => {
  const { Traffic } = load();
  const tr = new Traffic();
  for (let i = 0; i < 2000; i++) tr.add(router(0, 200, 1));
  t.equal(tr.buckets.get(T0 / 1000)!.samples.length, 500);
  tr.add(router(15 * 60, 200, 1));
  t.notOk(tr.buckets.has(T0 / 1000), 'a bucket 15 minutes old is dropped');
  t.equal(tr.add(router(0, 200, 1)), false, 'a line older than the window is not counted');
});
