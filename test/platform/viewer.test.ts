// The log viewer in a real browser (DESIGN §4 `GET /`): Debian's Chromium driven by
// playwright-core (no browser download) against `switchyard dev --demo`. It sees live lines
// arrive, filters them by source, dyno and text, pauses (counting held lines) and resumes,
// and saves a screenshot under test-artifacts/.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { request } from 'undici';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startDev, type DevProcess } from '../fixtures/dev';
import { freePort } from '../../src/cli/platform/wait-listening';
import { startLogplex, type LogplexNode } from '../../src/logplex/index';
import { viewerRoutes } from '../../src/logplex/viewer/index';
import { loadConfig } from '../../src/shared/config';
import { silentLogger } from '../../src/shared/log';
import { LogplexClient } from '../../src/shared/logplex-client';
import { memoryStores } from '../../src/logplex/store/open';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '..', '..', '..', 'test-artifacts');

async function hit(dev: DevProcess, path: string): Promise<string> {
  const id = 'viewer-' + randomUUID();
  const res = await request(dev.router + path, { headers: { host: 'hello.localhost', 'x-request-id': id } });
  await res.body.dump();
  if (res.statusCode !== 200) throw new Error(`router answered ${res.statusCode}`);
  return id;
}

async function openPage(t: Test): Promise<Page> {
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
  t.teardown(() => browser.close());
  return browser.newPage({ viewport: { width: 1280, height: 720 } });
}

/** Lines in the page containing `text`, visible or not. */
const linesWith = (page: Page, text: string) => page.locator('#lines .line', { hasText: text });

// Outside CI a machine without Chromium skips with the reason; under CI=true it must be there.
const missing = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing: apt-get install -y chromium`;
if (missing && process.env.CI === 'true') t.fail(`${missing} (.ci/run installs it)`);

t.test('viewer: live lines, filters, pause and resume', { skip: missing }, async (t) => {
  const dev = await startDev(t, ['--demo']);
  await dev.waitFor(/dyno=web\.1 msg="dyno up"/);
  await dev.waitFor(/dyno=web\.2 msg="dyno up"/);

  const page = await openPage(t);
  const external: string[] = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(dev.logplex) && !r.url().startsWith(dev.logplex.replace('http', 'ws')))
      external.push(r.url());
  });
  await page.goto(dev.logplex + '/#app=hello');
  await page.locator('#status.live').waitFor({ timeout: 10_000 });
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

  // Text search.
  await page.fill('#search', id1);
  t.equal(
    await page.locator('#lines .line').locator('visible=true').count(),
    2,
    'search keeps the two lines of that request',
  );
  await page.fill('#search', '');

  // Pause: new lines are held and counted, not shown; resume shows them.
  await page.click('#pause');
  const held = [await hit(dev, '/p1'), await hit(dev, '/p2'), await hit(dev, '/p3')];
  await page.locator('#held', { hasText: /^([6-9]|\d{2,}) held/ }).waitFor({ timeout: 10_000 });
  t.match(await page.textContent('#held'), /^6 held/, 'three requests = six held lines');
  for (const id of held) t.equal(await linesWith(page, id).count(), 0, 'held lines are not shown while paused');
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'viewer-paused.png') });
  await page.click('#pause');
  for (const id of held) t.equal(await linesWith(page, id).count(), 2, 'resumed: both lines of each held request');
  t.equal(await page.locator('#held').isVisible(), false, 'held count hidden after resume');
  await page.screenshot({ path: join(ARTIFACTS, 'viewer.png'), fullPage: true });
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
