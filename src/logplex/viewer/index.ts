// The browser log viewer (design.md §Logplex API, `GET /`): plain HTML, CSS and JS, no build step, nothing
// fetched from outside. The files live beside this module in src/logplex/viewer/ and are read
// once, at start-up, from the package root (dist/ and build/ hold only compiled TS), so editing
// the page needs no build. The page lists apps with `GET /v2/channels` (a channel is named after its app).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RouteTable } from '../../shared/json-api';
import type { RouteModule } from '../server';

export interface ViewerAsset {
  type: string;
  body: Buffer;
}

const FILES: readonly [path: string, file: string, type: string][] = [
  ['/', 'index.html', 'text/html; charset=utf-8'],
  ['/viewer/viewer.css', 'viewer.css', 'text/css; charset=utf-8'],
  ['/viewer/viewer.js', 'viewer.js', 'text/javascript; charset=utf-8'],
  ['/viewer/charts.css', 'charts.css', 'text/css; charset=utf-8'],
  ['/viewer/traffic.js', 'traffic.js', 'text/javascript; charset=utf-8'],
  ['/viewer/charts.js', 'charts.js', 'text/javascript; charset=utf-8'],
  ['/viewer/columns.js', 'columns.js', 'text/javascript; charset=utf-8'],
  ['/viewer/favicon.svg', 'favicon.svg', 'image/svg+xml'],
  ['/favicon.ico', 'favicon.svg', 'image/svg+xml'],
];

/** The package root's src/logplex/viewer/, found by walking up from this compiled file. */
function assetDir(): string {
  for (let dir = __dirname, i = 0; i < 8; i++, dir = dirname(dir)) {
    const candidate = join(dir, 'src', 'logplex', 'viewer');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    if (existsSync(join(dir, 'index.html')) && existsSync(join(dir, 'viewer.js'))) return dir;
  }
  throw Object.assign(new Error('viewer assets not found (src/logplex/viewer/)'), { code: 'SY_VIEWER_ASSETS' });
}

let cached: Map<string, ViewerAsset> | undefined;

/** URL path → asset; read once. */
export function viewerAssets(): Map<string, ViewerAsset> {
  if (cached) return cached;
  const dir = assetDir();
  cached = new Map(FILES.map(([path, file, type]) => [path, { type, body: readFileSync(join(dir, file)) }]));
  return cached;
}

/** `GET /` and the page's CSS and JS, without auth: the page asks for the token when the API wants one. */
export function viewerRoutes(): RouteModule {
  const assets = viewerAssets();
  return (table: RouteTable) => {
    for (const [path, asset] of assets) {
      table.add('GET', path, (_req, res) => {
        res.writeHead(200, {
          'content-type': asset.type,
          'content-length': asset.body.length,
          'cache-control': 'no-cache',
          'x-content-type-options': 'nosniff',
          // Nothing from outside: scripts, styles and sockets from this origin only.
          'content-security-policy': "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:",
        });
        res.end(asset.body);
      });
    }
  };
}
