// The `logs` command's Server-Sent Events reader (WHATWG HTML §9.2.6): the same events whatever
// the chunking (split at every offset), multi-line data joined with `\n`, id-only events kept
// (they move the resume point), comments and unknown fields ignored, CRLF accepted.
import t from 'tap';
import { SseParser, type SseEvent } from '../../src/cli/platform/sse';

const STREAM =
  'id: 1\ndata: 2026-11-26T10:00:00.000000+00:00 app[web.1]: one\n\n' +
  ': a comment\nretry: 100\n\n' +
  'id: 2\r\ndata: first\r\ndata: second\r\n\r\n' +
  'data: heroku[logplex]: Error L17 (resume point out of retention): …\n\n' +
  'id: 9\n\n' +
  'id:10\ndata:no space\n\n';

const WANT: SseEvent[] = [
  { id: '1', data: '2026-11-26T10:00:00.000000+00:00 app[web.1]: one' },
  { id: '2', data: 'first\nsecond' },
  { data: 'heroku[logplex]: Error L17 (resume point out of retention): …' },
  { id: '9' },
  { id: '10', data: 'no space' },
];

t.test('whole, and split in two at every offset', async (t) => {
  t.same(new SseParser().push(STREAM), WANT);
  for (let cut = 0; cut <= STREAM.length; cut++) {
    const p = new SseParser();
    const got = [...p.push(STREAM.slice(0, cut)), ...p.push(STREAM.slice(cut))];
    if (JSON.stringify(got) !== JSON.stringify(WANT)) {
      t.same(got, WANT, `split at ${cut}`);
      return;
    }
  }
  t.pass('the same events at every split');
});

t.test('one character at a time', async (t) => {
  const p = new SseParser();
  const got: SseEvent[] = [];
  for (const ch of STREAM) got.push(...p.push(ch));
  t.same(got, WANT);
});
