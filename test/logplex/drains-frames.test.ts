// frameBatch lays a batch into one Buffer from per-line headers; it must give the same bytes as
// framing each line on its own with the shared codec, whether MSG is a string (memory store) or
// the bytes of a Redis reply, and whatever the header fields hold.
import t from 'tap';
import { frameBatch, frameLine, type FrameShape } from '../../src/logplex/drains/frames';
import type { DrainLine } from '../../src/logplex/drains/store/index';
import { splitBody } from '../../src/shared/syslog/frame';

const TIME = '2026-11-26T10:00:00.123456+00:00';
const base: DrainLine = { seq: 1, time: TIME, pri: 134, source: 'app', ps: 'web.1', msg: 'hello' };
const odd: DrainLine[] = [
  base,
  { ...base, msg: '' },
  { ...base, msg: 'héllo ☃ 🚀 \ud800 lone surrogate' },
  { ...base, pri: 999, time: 'not a time' },
  { ...base, pri: Number.NaN, time: '' },
  { ...base, source: 'a p p', ps: 'wörker.1' },
  { ...base, source: '', ps: '' },
  { ...base, ps: 'x'.repeat(200) },
  { ...base, msg: 'x'.repeat(9_000) },
  { ...base, msg: 'line\nwith\r\nbreaks' },
];

for (const shape of ['logplex', 'rfc5424'] as FrameShape[]) {
  t.test(`${shape}: one Buffer, the same bytes as each line framed alone`, async (t) => {
    const asBytes = odd.map((l) => ({ ...l, msg: typeof l.msg === 'string' ? Buffer.from(l.msg, 'utf8') : l.msg }));
    const mixed = odd.map((l, i) => (i % 2 ? asBytes[i]! : l));
    const expected = Buffer.concat(odd.map((l) => frameLine(l, shape, 'd.1234')));
    for (const [name, lines] of [
      ['strings', odd],
      ['bytes', asBytes],
      ['mixed', mixed],
    ] as const) {
      const got = frameBatch(lines, shape, 'd.1234');
      t.ok(got.equals(expected), `${name}: same bytes`);
      const { frames, error } = splitBody(got, 20_000);
      t.equal(error, undefined, `${name}: octet counts agree with the bytes`);
      t.equal(frames.length, odd.length);
    }
  });
}

t.test('the line framed alone is the shared codec output', async (t) => {
  t.equal(frameLine(base, 'logplex', 'host').toString(), `62 <134>1 ${TIME} host app web.1 - hello`);
  // A syslog drain's MSG ends with LF inside the octet count, as Logplex sends it; HTTPS keeps MSG as is.
  t.equal(frameLine(base, 'rfc5424', 'd.x').toString(), `64 <134>1 ${TIME} d.x app web.1 - - hello\n`);
  t.equal(frameLine({ ...base, msg: 'hi\n' }, 'rfc5424', 'd.x').toString(), `61 <134>1 ${TIME} d.x app web.1 - - hi\n`);
  t.equal(frameLine({ ...base, msg: '' }, 'rfc5424', 'd.x').toString(), `59 <134>1 ${TIME} d.x app web.1 - - \n`);
  t.equal(
    frameLine({ ...base, msg: Buffer.from('hello') }, 'logplex', 'host').toString(),
    `62 <134>1 ${TIME} host app web.1 - hello`,
  );
});
