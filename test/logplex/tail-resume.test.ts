// Resumable tails (design.md §Tail sessions): every line a session sends carries its stream id
// (its seq in the channel log): `id:` in Server-Sent Events, `id` in WebSocket JSON mode. A
// client that comes back with its last id (Last-Event-ID, or since_id in POST /v2/sessions) gets
// every line after it exactly once, then live lines; when the id fell out of retention, an L17
// line says how many were lost. Checked by the numbers in the messages: no gap, no duplicate.
import t from 'tap';
import { WebSocket } from 'ws';
import { curlSse } from '../fixtures/sse';
import { prefixFor, sendLines, startNode, type TestNode } from '../fixtures/logplex';

const numbered = (from: number, to: number): [string, string][] =>
  Array.from({ length: to - from + 1 }, (_, i) => ['web.1', `n=${from + i}`]);
const numbersIn = (texts: string[]): number[] => texts.map((x) => Number(/n=(\d+)/.exec(x)?.[1] ?? NaN));
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function session(node: TestNode, body: Record<string, unknown>): Promise<string> {
  const s = await node.api('POST', '/v2/sessions', body);
  if (s.status !== 201) throw new Error(`session: ${s.status} ${JSON.stringify(s.body)}`);
  return s.body.url;
}

/** Sends one line at a time until `reader` shows it: live delivery has begun. */
async function sendUntilSeen(node: TestNode, token: string, from: number, seen: () => number[]): Promise<number> {
  for (let n = from; n < from + 200; n++) {
    await sendLines(node, token, [['web.1', `n=${n}`]]);
    for (let i = 0; i < 20; i++) {
      if (seen().includes(n)) return n;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  throw new Error('live lines never arrived');
}

t.test('SSE (curl): each line has its id; Last-Event-ID resumes exactly once after it, then live', async (t) => {
  const node = await startNode(t);
  const ch = await node.channel();
  await sendLines(node, ch.tokens.app!, numbered(1, 5));
  const first = curlSse(await session(node, { channel_id: ch.id, num: 100, tail: true }));
  t.teardown(() => first.kill());
  const evs = await first.until(5);
  t.same(
    evs.map((e) => e.id),
    ['1', '2', '3', '4', '5'],
    'the stream id is the seq',
  );
  t.match(evs[0]!.data, /app\[web\.1\]: n=1$/);
  first.kill();
  await first.ended;
  // While the reader is away:
  await sendLines(node, ch.tokens.app!, numbered(6, 12));
  const second = curlSse(await session(node, { channel_id: ch.id, tail: true }), { 'Last-Event-ID': '5' });
  t.teardown(() => second.kill());
  await second.until(7);
  const last = await sendUntilSeen(node, ch.tokens.app!, 13, () => numbersIn(second.events.map((e) => e.data)));
  const got = numbersIn(second.events.map((e) => e.data));
  t.same(got, range(6, last), 'every line after 5 once, in order, then live ones');
  t.same(
    second.events.map((e) => Number(e.id)),
    range(6, last),
  );
});

t.test('WebSocket JSON mode: id in every message; since_id in POST /v2/sessions resumes', async (t) => {
  const node = await startNode(t);
  const ch = await node.channel();
  await sendLines(node, ch.tokens.app!, numbered(1, 4));
  const read = async (body: Record<string, unknown>, n: number): Promise<Record<string, any>[]> => {
    const ws = new WebSocket((await session(node, body)).replace(/^http/, 'ws'));
    t.teardown(() => ws.terminate());
    const out: Record<string, any>[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${out.length} of ${n} messages`)), 10_000);
      ws.on('message', (d) => {
        out.push(JSON.parse(String(d)));
        if (out.length >= n) {
          clearTimeout(timer);
          ws.close();
          resolve();
        }
      });
    });
    return out;
  };
  const a = await read({ channel_id: ch.id, num: 2, tail: true, format: 'json' }, 2);
  t.same(
    a.map((m) => [m.id, m.msg]),
    [
      ['3', 'n=3'],
      ['4', 'n=4'],
    ],
  );
  t.match(a[0], { source: 'app', ps: 'web.1', time: /^2026-/, msgid: null, sd: {} });
  await sendLines(node, ch.tokens.app!, numbered(5, 6));
  const b = await read({ channel_id: ch.id, since_id: 4, tail: true, format: 'json' }, 2);
  t.same(
    b.map((m) => m.id),
    ['5', '6'],
  );
});

t.test('a resume id that fell out of retention: an L17 line says how many were lost', async (t) => {
  const node = await startNode(t, { store: 'memory', env: { LOGPLEX_HISTORY_LINES: '10' } });
  const ch = await node.channel();
  await sendLines(node, ch.tokens.app!, numbered(1, 30));
  const r = curlSse(await session(node, { channel_id: ch.id, since_id: 2 }));
  await r.ended;
  t.match(r.events[0], {
    id: undefined,
    data: /heroku\[logplex\]: Error L17 \(resume point out of retention\): 18 messages after id 2 /,
  });
  t.same(numbersIn(r.events.slice(1).map((e) => e.data)), range(21, 30));
  t.equal(r.events.length, 11);
});

t.test('two nodes on Redis: a tail on A resumes on B after A is gone, no gap, no duplicate', async (t) => {
  const prefix = await prefixFor(t);
  if (prefix === undefined) return;
  const a = await startNode(t, { store: 'redis', prefix });
  const b = await startNode(t, { store: 'redis', prefix });
  const ch = await a.channel();
  await sendLines(a, ch.tokens.app!, numbered(1, 3));
  const onA = curlSse(await session(a, { channel_id: ch.id, num: 3, tail: true }));
  t.teardown(() => onA.kill());
  await onA.until(3);
  const seenA = await sendUntilSeen(a, ch.tokens.app!, 4, () => numbersIn(onA.events.map((e) => e.data)));
  await a.close();
  await onA.ended;
  const lastId = onA.events[onA.events.length - 1]!.id!;
  // Lines keep coming through B while nobody reads.
  await sendLines(b, ch.tokens.app!, numbered(seenA + 1, seenA + 10));
  const onB = curlSse(await session(b, { channel_id: ch.id, tail: true }), { 'Last-Event-ID': lastId });
  t.teardown(() => onB.kill());
  await onB.until(10);
  const last = await sendUntilSeen(b, ch.tokens.app!, seenA + 11, () => numbersIn(onB.events.map((e) => e.data)));
  const all = [...numbersIn(onA.events.map((e) => e.data)), ...numbersIn(onB.events.map((e) => e.data))];
  t.same(all, range(1, last), 'A then B: every line once, in order');
});

t.test('SSE with no history still tells its position, so a resume misses nothing', async (t) => {
  const node = await startNode(t);
  const ch = await node.channel();
  await sendLines(node, ch.tokens.app!, numbered(1, 5));
  const first = curlSse(await session(node, { channel_id: ch.id, num: 0, tail: true }));
  t.teardown(() => first.kill());
  t.same(await first.until(1), [{ id: '5', data: '' }], 'an id-only event: read up to 5');
  first.kill();
  await first.ended;
  await sendLines(node, ch.tokens.app!, numbered(6, 8));
  const again = curlSse(await session(node, { channel_id: ch.id }), { 'Last-Event-ID': first.events[0]!.id! });
  await again.ended;
  t.same(numbersIn(again.events.map((e) => e.data)), [6, 7, 8]);
});
