// Step 10 of the request path (design.md §Request path): error responses are small HTML pages naming the code
// and the request id, or JSON when the client prefers it; never a stack trace.
import type { HCode } from './errors';

export interface ErrorBody {
  readonly contentType: string;
  readonly body: string;
}

/** True when Accept ranks application/json above text/html (or names only JSON). */
export function prefersJson(accept: string | undefined): boolean {
  if (!accept) return false;
  const json = accept.indexOf('application/json');
  if (json === -1) return false;
  const html = accept.indexOf('text/html');
  return html === -1 || json < html;
}

/** `id` is an H code, or `no_such_app` for an unknown host. */
export function errorBody(id: HCode | 'no_such_app', message: string, requestId: string, json: boolean): ErrorBody {
  if (json) {
    return { contentType: 'application/json', body: JSON.stringify({ id, message, request_id: requestId }) };
  }
  const title = id === 'no_such_app' ? 'No such app' : 'Application error';
  const body =
    `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${title}</title></head><body>` +
    `<h1>${title}</h1><p>${escapeHtml(message)}${id === 'no_such_app' ? '' : ` (${id})`}</p>` +
    `<p>Request ID: <code>${escapeHtml(requestId)}</code></p></body></html>\n`;
  return { contentType: 'text/html; charset=utf-8', body };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
