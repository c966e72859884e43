// The viewer's traffic charts in a real browser (design.md §Router line, §Logplex API): Debian's
// Chromium (playwright-core, no download) on `switchyard dev --demo`, the demo's real router
// lines. The four charts draw, redraw as new lines arrive, a click on a chart filters the lines
// to that second; router lines render as aligned columns whose request id searches for itself.
// Screenshots go to test-artifacts/.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { request } from 'undici';
import type { Page } from 'playwright-core';
import type { DevProcess } from '../fixtures/dev';
import { chromiumMissing, demoViewer, screenshot } from '../fixtures/viewer';
import { platformEnv, runCli } from '../cli/run';

const missing = chromiumMissing(t);

async function hit(dev: DevProcess, path: string): Promise<number> {
  const res = await request(dev.router + path, {
    headers: { host: 'hello.localhost', 'x-request-id': 'charts-' + randomUUID() },
  });
  await res.body.dump();
  return res.statusCode;
}

/** Polls `read` until `ok` holds: at most 150 tries, 100 ms apart (the page's CSP forbids eval). */
async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  let v = await read();
  for (let i = 0; i < 150 && !ok(v); i++) {
    await new Promise((r) => setTimeout(r, 100));
    v = await read();
  }
  return v;
}

/** Waits (bounded) until the charts have counted at least `n` router lines. */
const counted = (page: Page, n: number): Promise<number> =>
  until(
    async () => Number(await page.getAttribute('#charts', 'data-requests')),
    (v) => v >= n,
  );

t.test('viewer charts: drawn from router lines, live, click filters to a second', { skip: missing }, async (t) => {
  const { dev, page, external } = await demoViewer(t, { width: 1400, height: 800 });

  // Real traffic: 2xx from both dynos, then H80 (maintenance) as errors.
  // Spread over a few seconds (bounded: 40 requests, 100 ms apart) so the charts have a shape.
  for (let i = 0; i < 40; i++) {
    t.equal(await hit(dev, `/page/${i}`), 200);
    await new Promise((r) => setTimeout(r, i % 10 < 5 ? 50 : 150));
  }
  const env = platformEnv(dev.admin, dev.logplex);
  t.equal((await runCli(['maintenance:on', '-a', 'hello'], env)).code, 0);
  for (let i = 0; i < 5; i++) t.equal(await hit(dev, '/down'), 503);
  t.equal((await runCli(['maintenance:off', '-a', 'hello'], env)).code, 0);
  const before = await counted(page, 45);
  t.ok(before >= 45, 'every router line counted');
  await page.waitForSelector('.chart-codes [data-series="H80"], .chart-codes circle', { timeout: 10_000 });

  const series = (chart: string) =>
    page.$$eval(`.chart-${chart} svg [data-series], .chart-${chart} svg circle`, (els) => els.length);
  t.ok(await page.locator('.chart-rps polyline[data-series="2xx"], .chart-rps circle').count(), 'requests/s drawn');
  t.ok(await page.locator('.chart-rps polyline[data-series="5xx"], .chart-rps circle').count(), '5xx drawn');
  t.ok(await page.locator('.chart-service polyline[data-series="p99"], .chart-service circle').count(), 'p99 drawn');
  t.match(await page.textContent('.chart-codes .chart-head'), /H80/, 'H-codes by code');
  t.match(await page.textContent('.chart-dynos .chart-head'), /web\.1.*web\.2/, 'load per dyno');
  t.ok((await series('dynos')) >= 1);

  // New lines move the charts: the count grows and the drawing follows.
  const pointsBefore = await page.getAttribute('.chart-rps polyline[data-series="2xx"]', 'points');
  for (let i = 0; i < 10; i++) await hit(dev, `/more/${i}`);
  t.ok((await counted(page, before + 10)) >= before + 10, 'new router lines counted');
  const pointsAfter = await until(
    () => page.getAttribute('.chart-rps polyline[data-series="2xx"]', 'points'),
    (p) => p !== pointsBefore,
  );
  t.not(pointsAfter, pointsBefore, 'the requests/s line was redrawn');
  await screenshot(page, 'viewer-charts.png');

  // Router lines as aligned columns; a request id links to a search for it.
  const rid = page.locator('#lines .line.ps-router .rid').last();
  const id = (await rid.textContent())!;
  await rid.click();
  t.equal(await page.inputValue('#search'), id, 'the id is searched for');
  // The search runs on the server: its answer arrives as a new session's lines.
  const found = await until(
    () => page.locator('#lines .line').locator('visible=true').count(),
    (n) => n === 2,
  );
  t.equal(found, 2, 'its router line and its app line');
  await page.fill('#search', '');
  await page.dispatchEvent('#search', 'change'); // search runs on the server: a change starts a new session

  // A click on the requests/s chart at the second of the 5xx requests keeps only that second's lines.
  const downTime = await page
    .locator('#lines .line.ps-router', { hasText: 'code=H80' })
    .first()
    .locator('.time')
    .getAttribute('title');
  const sec = Math.floor(Date.parse(downTime!) / 1000);
  // The charts are drawn again for the new session: wait (bounded) for the chart to be back on the page.
  const box = (await until(
    () => page.locator('.chart-rps svg').boundingBox(),
    (b) => b !== null,
  ))!;
  const from = Number(await page.getAttribute('#charts', 'data-from'));
  const to = Number(await page.getAttribute('#charts', 'data-to'));
  await page.mouse.click(box.x + 34 + ((sec - from) / (to - from)) * (box.width - 40), box.y + box.height / 2);
  await page.locator('#picked').waitFor({ state: 'visible', timeout: 5_000 });
  const visible = await page.$$eval('#lines .line:not([hidden]) .time', (els) =>
    els.map((e) => e.getAttribute('title')),
  );
  t.ok(visible.length > 0, 'lines of that second are shown');
  const picked = new Set(visible.map((v) => Math.floor(Date.parse(v!) / 1000)));
  t.equal(picked.size, 1, 'all from one second');
  t.ok(Math.abs([...picked][0]! - sec) <= 3, 'the clicked second');
  t.ok(await page.locator('.chart-rps line.picked').count(), 'the picked second is marked');
  await screenshot(page, 'viewer-charts-picked.png');
  await page.click('#picked button');
  t.equal(await page.locator('#picked').isVisible(), false);

  // Narrow screens: the charts wrap, lines wrap inside their column.
  await page.setViewportSize({ width: 520, height: 900 });
  await page.waitForTimeout(1200);
  await screenshot(page, 'viewer-narrow.png');
  t.equal((await request(dev.logplex + '/viewer/favicon.svg')).statusCode, 200, 'favicon served');
  t.same(external, [], 'nothing fetched from outside');
});
