// Signed HTTP and OTLP deliveries (design.md §Drain delivery): HMAC-SHA256 of `TIMESTAMP.BODY`
// under the drain's secret, shown once at creation and rotatable; a tampered body, another
// secret or an old timestamp fail to verify. POST …/drains/:drain/test sends one line now and
// answers with what the receiver said.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { signature, signedHeaders, verifySignature } from '../../src/logplex/drains/sign';
import { splitFrames } from '../fixtures/drains';
import { sendLines, startNode } from '../fixtures/logplex';
import { decodeOtlpRequest, records } from '../fixtures/otlp';
import { httpSink, type HttpDelivery } from '../fixtures/sinks';

const verifies = (secret: string, d: HttpDelivery): boolean =>
  verifySignature(
    secret,
    { timestamp: d.headers['switchyard-timestamp'] as string, signature: d.headers['switchyard-signature'] as string },
    d.body,
  );

t.test('verification: the body, the secret and the timestamp are all inside the MAC', async (t) => {
  const body = Buffer.from('83 <190>1 2026-11-26T10:00:00.000001+00:00 host app web.1 - hello');
  const now = 1_795_687_200_000;
  const h = signedHeaders('ds.secret', body, now);
  const got = { timestamp: h['switchyard-timestamp'], signature: h['switchyard-signature'] };
  t.equal(got.timestamp, '1795687200');
  t.match(got.signature, /^v1=[0-9a-f]{64}$/);
  t.ok(verifySignature('ds.secret', got, body, { nowMs: now }), 'the body as sent verifies');
  const tampered = Buffer.from(body.toString().replace('hello', 'hellO'));
  t.notOk(verifySignature('ds.secret', got, tampered, { nowMs: now }), 'a tampered body does not');
  t.notOk(verifySignature('ds.other', got, body, { nowMs: now }), 'another secret does not');
  const moved = { ...got, timestamp: '1795687201' };
  t.notOk(verifySignature('ds.secret', moved, body, { nowMs: now }), 'another timestamp does not');
  t.notOk(verifySignature('ds.secret', got, body, { nowMs: now + 301_000 }), 'a signature over 5 minutes old does not');
  t.notOk(verifySignature('ds.secret', { timestamp: undefined, signature: got.signature }, body), 'no timestamp');
  t.equal(signature('k', '1', 'b'), signature('k', '1', Buffer.from('b')), 'strings and bytes sign alike');
});

t.test('deliveries verify with the secret shown at creation, then with the rotated one only', async (t) => {
  const sink = await httpSink();
  t.teardown(() => sink.close());
  const node = await startNode(t, { store: 'memory' });
  const ch = await node.channel(['app']);
  const made = await node.api('POST', `/v2/channels/${ch.id}/drains`, { url: sink.url });
  const first: string = made.body.secret;
  t.match(first, /^ds\.[A-Za-z0-9_-]{43}$/);
  await sendLines(node, ch.tokens.app!, [['web.1', 'one']]);
  await sink.until((d) => d.length >= 1);
  t.ok(verifies(first, sink.deliveries[0]!), 'the delivery verifies with the secret from the POST');

  const rotated = await node.api('POST', `/v2/channels/${ch.id}/drains/${made.body.id}/secret`, {});
  t.equal(rotated.status, 200);
  const second: string = rotated.body.secret;
  t.not(second, first);
  const shown = await node.api('GET', `/v2/channels/${ch.id}/drains/${made.body.id}`);
  t.notOk(JSON.stringify(shown.body).includes(second), 'GET never shows the secret');
  // The runner restarts with the new secret at the scheduler's next pass: send until a delivery shows it.
  let last: HttpDelivery | undefined;
  for (let i = 0; i < 50 && !(last && verifies(second, last)); i++) {
    await sendLines(node, ch.tokens.app!, [['web.1', `after ${i}`]]);
    const n = sink.deliveries.length;
    await sink.until((d) => d.length > n);
    last = sink.deliveries.at(-1)!;
  }
  t.ok(last && verifies(second, last), 'deliveries verify with the rotated secret');
  t.notOk(last && verifies(first, last), '…and no longer with the first');
  const syslog = await node.api('POST', `/v2/channels/${ch.id}/drains`, { url: 'syslog://127.0.0.1:9' });
  t.notOk('secret' in syslog.body, 'syslog drains are not signed');
  const r = await node.api('POST', `/v2/channels/${ch.id}/drains/${syslog.body.id}/secret`, {});
  t.same([r.status, r.body.id], [422, 'unprocessable_entity']);
});

t.test('the test endpoint sends one line now and answers with what the receiver said', async (t) => {
  const sink = await httpSink();
  t.teardown(() => sink.close());
  const node = await startNode(t, { store: 'memory' });
  const ch = await node.channel(['app']);
  const made = await node.api('POST', `/v2/channels/${ch.id}/drains`, { url: sink.url });
  const test = `/v2/channels/${ch.id}/drains/${made.body.id}/test`;

  sink.script = [202];
  sink.replyBody = 'thanks';
  const ok = await node.api('POST', test, {});
  t.same(ok.body, { id: made.body.id, delivered: true, outcome: 'ok', status: 202, reply: 'thanks' });
  const frames = splitFrames(sink.deliveries[0]!.body);
  t.equal(frames.length, 1);
  t.match(frames[0], new RegExp(`heroku logplex - Test line from Switchyard for drain ${made.body.id}$`));
  t.ok(verifies(made.body.secret, sink.deliveries[0]!), 'the test line is signed like any delivery');

  sink.script = [503];
  sink.replyBody = 'down for maintenance';
  const down = await node.api('POST', test, {});
  t.same(down.body, {
    id: made.body.id,
    delivered: false,
    outcome: 'retry',
    code: 'HTTP_503',
    message: `127.0.0.1:${sink.port} answered 503`,
    status: 503,
    reply: 'down for maintenance',
  });
  sink.script = [403];
  t.match((await node.api('POST', test, {})).body, { delivered: false, outcome: 'reject', code: 'HTTP_403' });

  const closed = await httpSink();
  await closed.close();
  const gone = await node.api('POST', `/v2/channels/${ch.id}/drains`, { url: closed.url });
  const refused = await node.api('POST', `/v2/channels/${ch.id}/drains/${gone.body.id}/test`, {});
  t.match(refused.body, { delivered: false, outcome: 'retry', code: 'ECONNREFUSED' });

  const otlpSink = await httpSink();
  t.teardown(() => otlpSink.close());
  const otlp = await node.api('POST', `/v2/channels/${ch.id}/drains`, {
    url: `otlp+http://127.0.0.1:${otlpSink.port}`,
  });
  t.match((await node.api('POST', `/v2/channels/${ch.id}/drains/${otlp.body.id}/test`, {})).body, { delivered: true });
  const got = records(decodeOtlpRequest(otlpSink.deliveries[0]!.body, 'application/x-protobuf'));
  t.same(
    got.map((g) => g.record.body.stringValue),
    [`Test line from Switchyard for drain ${otlp.body.id}`],
  );
  t.equal((await node.api('POST', `/v2/channels/${ch.id}/drains/99999/test`, {})).status, 404);
  const status = await node.api('GET', `/v2/channels/${ch.id}/drains/${made.body.id}`);
  t.equal(status.body.status.delivered, 0, 'test lines are not counted as deliveries');
});

/** The fenced code block of `file` whose first line starts with `marker`. */
function codeBlock(file: string, marker: string): string {
  const text = readFileSync(join(__dirname, '..', '..', '..', file), 'utf8');
  const start = text.indexOf('```js\n' + marker);
  if (start < 0) throw new Error(`no \`\`\`js block starting with ${marker} in ${file}`);
  const from = start + '```js\n'.length;
  return text.slice(from, text.indexOf('```', from));
}

t.test("the docs' verify function accepts a delivery and refuses a tampered one", async (t) => {
  const code = codeBlock('docs/operations.md', "const { createHmac, timingSafeEqual } = require('node:crypto');");
  t.ok(code.split('\n').filter(Boolean).length <= 10, 'ten lines at most');
  const verifyDrain = new Function('require', `${code}\nreturn verifyDrain;`)(require) as (
    secret: string,
    headers: Record<string, string>,
    body: Buffer,
  ) => boolean;
  const body = Buffer.from('a batch');
  const headers = signedHeaders('ds.k', body);
  t.ok(verifyDrain('ds.k', headers, body));
  t.notOk(verifyDrain('ds.k', headers, Buffer.from('a batcH')), 'a tampered body fails');
  t.notOk(verifyDrain('ds.other', headers, body));
});

t.test("the README's receiver prints signed deliveries and refuses forged ones", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-receiver-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'receiver.js'), codeBlock('README.md', '// receiver.js'));
  const port = await freePort();
  const node = await startNode(t, { store: 'memory' });
  const ch = await node.channel(['app']);
  const made = await node.api('POST', `/v2/channels/${ch.id}/drains`, { url: `http://127.0.0.1:${port}/` });
  const child = spawn(process.execPath, [join(dir, 'receiver.js')], {
    env: { ...process.env, DRAIN_SECRET: made.body.secret, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => void child.kill());
  let printed = '';
  child.stdout!.on('data', (c: Buffer) => (printed += c.toString()));
  let answer: { status?: number } = {};
  for (let i = 0; i < 100 && answer.status !== 200; i++) {
    answer = (await node.api('POST', `/v2/channels/${ch.id}/drains/${made.body.id}/test`, {})).body;
    if (answer.status !== 200) await new Promise((r) => setTimeout(r, 50));
  }
  t.match(answer, { delivered: true, status: 200 }, 'a signed test line is taken');
  const headers = signedHeaders(made.body.secret, Buffer.from('real'));
  const forged = await request(`http://127.0.0.1:${port}/`, { method: 'POST', headers, body: 'forged' });
  await forged.body.dump();
  t.equal(forged.statusCode, 401, 'a body the signature was not made for is refused');
  t.match(printed, /Test line from Switchyard/);
  t.notOk(printed.includes('forged'));
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
