// The log viewer in a real browser (design.md §Logplex API, `GET /`): Debian's Chromium driven by
// playwright-core (no browser download) against `switchyard dev --demo`. It sees live lines
// arrive, filters them by source and dyno, searches on the server, pauses (counting held lines)
// and resumes, and saves a screenshot under test-artifacts/; and it resumes after a Logplex
// restart without a gap (two nodes on Redis, lines numbered).
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { request } from 'undici';
import type { Page } from 'playwright-core';
import type { DevProcess } from '../fixtures/dev';
import { freePort } from '../../src/cli/platform/wait-listening';
import { startLogplex, type LogplexNode } from '../../src/logplex/index';
import { viewerRoutes } from '../../src/logplex/viewer/index';
import { loadConfig } from '../../src/shared/config';
import { silentLogger } from '../../src/shared/log';
import { LogplexClient } from '../../src/shared/logplex-client';
import { memoryStores, redisStores } from '../../src/logplex/store/open';
import { prefixFor } from '../fixtures/logplex';
import { REDIS_URL } from '../fixtures/redis';
import { chromiumMissing, demoViewer, openPage, screenshot } from '../fixtures/viewer';

async function hit(dev: DevProcess, path: string): Promise<string> {
  const id = 'viewer-' + randomUUID();
  const res = await request(dev.router + path, { headers: { host: 'hello.localhost', 'x-request-id': id } });
  await res.body.dump();
  if (res.statusCode !== 200) throw new Error(`router answered ${res.statusCode}`);
  return id;
}

/** Lines in the page containing `text`, visible or not. */
const linesWith = (page: Page, text: string) => page.locator('#lines .line', { hasText: text });

const missing = chromiumMissing(t);

t.test('viewer: live lines, filters, pause and resume', { skip: missing }, async (t) => {
  const { dev, page, external } = await demoViewer(t);
  t.equal(await page.locator('#app option:checked').textContent(), 'hello', 'the app from the URL is picked');

  // Live lines arrive: the router line and the app line of one request.
  const id1 = await hit(dev, '/live');
  await linesWith(page, id1).nth(1).waitFor({ timeout: 10_000 });
  t.equal(await linesWith(page, id1).count(), 2, 'router line and app line');
  t.equal(
    await page.locator(`#lines .line.src-heroku.ps-router:has-text("${id1}")`).count(),
    1,
    'router line coloured as router',
  );

  // Filter by source: only the app line of that request stays visible.
  await page.selectOption('#source', 'app');
  t.equal(await linesWith(page, id1).locator('visible=true').count(), 1);
  t.equal(
    await page.locator('#lines .line[data-source="heroku"]').locator('visible=true').count(),
    0,
    'no heroku line visible',
  );
  await page.selectOption('#source', '');

  // Filter by dyno (prefix `web` keeps web.1 and web.2, `router` keeps router lines only).
  await page.fill('#dyno', 'router');
  t.equal(
    await page.locator('#lines .line[data-source="app"]').locator('visible=true').count(),
    0,
    'dyno=router hides app lines',
  );
  await page.fill('#dyno', 'web');
  t.equal(
    await page.locator('#lines .line[data-dyno="router"]').locator('visible=true').count(),
    0,
    'dyno=web hides router lines',
  );
  await page.fill('#dyno', '');

  // Search runs on the server (Enter): the page starts over with the matching history.
  await page.fill('#search', id1);
  await page.press('#search', 'Enter');
  await page.locator('#status.live').waitFor({ timeout: 10_000 });
  await linesWith(page, id1).nth(1).waitFor({ timeout: 10_000 });
  t.equal(await page.locator('#lines .line').count(), 2, 'search finds the two lines of that request, and only them');
  await page.fill('#search', '');
  await page.press('#search', 'Enter');
  await linesWith(page, id1).nth(1).waitFor({ timeout: 10_000 });
  await page.locator('#status.live').waitFor({ timeout: 10_000 });

  // Pause: new lines are held and counted, not shown; resume shows them.
  await page.click('#pause');
  const held = [await hit(dev, '/p1'), await hit(dev, '/p2'), await hit(dev, '/p3')];
  await page.locator('#held', { hasText: /^([6-9]|\d{2,}) held/ }).waitFor({ timeout: 10_000 });
  t.match(await page.textContent('#held'), /^6 held/, 'three requests = six held lines');
  for (const id of held) t.equal(await linesWith(page, id).count(), 0, 'held lines are not shown while paused');
  await screenshot(page, 'viewer-paused.png');
  await page.click('#pause');
  for (const id of held) t.equal(await linesWith(page, id).count(), 2, 'resumed: both lines of each held request');
  t.equal(await page.locator('#held').isVisible(), false, 'held count hidden after resume');
  await screenshot(page, 'viewer.png', true);
  t.same(external, [], 'the page fetched nothing from outside');
});

t.test('viewer: reconnects after a Logplex restart', { skip: missing }, async (t) => {
  const port = await freePort('127.0.0.1');
  const config = loadConfig({ LOGPLEX_PORT: String(port), LOGPLEX_SYSLOG_PORT: '0', SWITCHYARD_GRACE_MS: '500' });
  let token = '';
  const start = async (): Promise<LogplexNode> => {
    const node = await startLogplex({
      config,
      stores: memoryStores(config.LOGPLEX_HISTORY_LINES),
      host: '127.0.0.1',
      apiToken: undefined,
      log: silentLogger,
      routes: [() => viewerRoutes()],
    });
    const c = await node.store.createChannel('hello', ['app']);
    token = c.tokens[0]!.token;
    return node;
  };
  let node = await start();
  t.teardown(() => node.close());
  const client = new LogplexClient({ url: `http://127.0.0.1:${port}`, flushMs: 5 });
  t.teardown(() => client.close());
  const say = async (msg: string): Promise<void> => {
    client.send({ token, procId: 'web.1', msg });
    await client.flush();
  };

  const page = await openPage(t);
  // The page's clock runs as usual, but the test can jump it past the reconnect backoff (0.5 s
  // doubling to 10 s) instead of waiting the backoff out.
  await page.clock.install();
  await page.goto(`http://127.0.0.1:${port}/#app=hello`);
  await page.locator('#status.live').waitFor({ timeout: 10_000 });
  await say('before the restart');
  await linesWith(page, 'before the restart').waitFor({ timeout: 10_000 });

  await node.close();
  await page.locator('#status.down', { hasText: /reconnecting/ }).waitFor({ timeout: 10_000 });
  t.pass('the page says it is reconnecting');
  node = await start();
  // Fire whatever backoff timer is pending, then keep writing until a line arrives (bounded: with
  // the timer fired, the reconnect is one session POST and one WebSocket away).
  const deadline = Date.now() + 5_000;
  let n = 0;
  while (Date.now() < deadline && (await linesWith(page, 'after the restart').count()) === 0) {
    await page.clock.fastForward(10_000);
    await say(`after the restart ${n++}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  t.ok(await linesWith(page, 'after the restart').count(), 'live lines again after the restart');
  t.equal(await linesWith(page, 'before the restart').count(), 1, 'earlier lines are kept');
  t.equal(await page.locator('#lines .marker', { hasText: 'reconnected' }).count(), 1, 'a marker shows the gap');
  t.ok(await page.locator('#status.live').isVisible(), 'status live again');
});

t.test('viewer: server search, and a reconnect without a gap (nodes on Redis)', { skip: missing }, async (t) => {
  const prefix = await prefixFor(t);
  if (prefix === undefined) return;
  const port = await freePort('127.0.0.1');
  const env = { LOGPLEX_SYSLOG_PORT: '0', SWITCHYARD_GRACE_MS: '500', REDIS_URL };
  const start = (p: number): Promise<LogplexNode> =>
    startLogplex({
      config: loadConfig({ ...env, LOGPLEX_PORT: String(p) }),
      stores: redisStores(REDIS_URL, { prefix, historyLines: 1500 }),
      host: '127.0.0.1',
      apiToken: undefined,
      log: silentLogger,
      routes: [() => viewerRoutes()],
    });
  let a = await start(port);
  const b = await start(0);
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  const token = (await a.store.createChannel('numbers', ['app'])).tokens[0]!.token;
  const say = async (node: LogplexNode, from: number, to: number): Promise<void> => {
    const client = new LogplexClient({ url: `http://127.0.0.1:${node.httpPort}`, flushMs: 5 });
    for (let n = from; n <= to; n++) client.send({ token, procId: n % 2 ? 'web.1' : 'web.2', msg: `n=${n}` });
    await client.flush();
    await client.close();
  };
  const shown = async (page: Page): Promise<number[]> =>
    (await page.locator('#lines .line .msg').allTextContents())
      .map((m) => Number(/^n=(\d+)$/.exec(m)?.[1]))
      .filter((n) => n > 0);

  await say(a, 1, 6);
  const page = await openPage(t);
  await page.clock.install();
  await page.goto(`http://127.0.0.1:${port}/#app=numbers`);
  await page.locator('#status.live').waitFor({ timeout: 10_000 });
  await linesWith(page, 'n=6').waitFor({ timeout: 10_000 });

  // Server search: a logfmt term over the history, then the live lines that match.
  await page.fill('#search', 'n>=3 n<=4');
  await page.press('#search', 'Enter');
  await linesWith(page, 'n=4').waitFor({ timeout: 10_000 });
  t.same(await shown(page), [3, 4], 'the server searched the history');
  await page.fill('#search', '');
  await page.press('#search', 'Enter');
  await linesWith(page, 'n=6').waitFor({ timeout: 10_000 });
  t.same(await shown(page), [1, 2, 3, 4, 5, 6]);

  // A goes away; lines arrive through B meanwhile; A comes back on its port.
  await a.close();
  await page.locator('#status.down', { hasText: /reconnecting/ }).waitFor({ timeout: 10_000 });
  await say(b, 7, 12);
  a = await start(port);
  // Fire the pending backoff timer until the lines sent while A was away are shown.
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && !(await shown(page)).includes(12)) {
    await page.clock.fastForward(10_000);
    await new Promise((r) => setTimeout(r, 100));
  }
  // Then live lines through the restarted A, one at a time until one is shown.
  for (let n = 13; n < 40 && !(await shown(page)).some((x) => x >= 13); n++) {
    await say(a, n, n);
    await new Promise((r) => setTimeout(r, 100));
  }
  const got = await shown(page);
  t.same(
    got,
    Array.from({ length: got.length }, (_, i) => i + 1),
    'every line once, in order, across the restart',
  );
  t.ok(got.length >= 13, `live lines after the restart (${got.length})`);
});
