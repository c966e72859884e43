import t from 'tap';
import { encodeFrame, FrameError, FrameSplitter, MAX_FRAME, splitBody } from '../../src/shared/syslog/frame';

interface Out {
  frames: [string, boolean][];
  errors: string[];
  maxBuffered: number;
}

/** Push `chunks` through one splitter, recording frames, error codes and the largest `buffered`. */
function split(chunks: (Buffer | string)[], maxFrame?: number, end = true): Out & { splitter: FrameSplitter } {
  const out: Out = { frames: [], errors: [], maxBuffered: 0 };
  const splitter = new FrameSplitter({
    ...(maxFrame === undefined ? {} : { maxFrame }),
    onFrame: (f, truncated) => out.frames.push([f.toString('latin1'), truncated]),
    onError: (e) => out.errors.push(e.code),
  });
  for (const c of chunks) {
    splitter.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c);
    out.maxBuffered = Math.max(out.maxBuffered, splitter.buffered);
  }
  if (end) splitter.end();
  return { ...out, splitter };
}

// Each row: input stream, expected frames [text, truncated], expected error codes. maxFrame 16.
const cases: [string, string, [string, boolean][], string[]][] = [
  [
    'octet counting (RFC 6587 §3.4.1)',
    '5 hello6 world!',
    [
      ['hello', false],
      ['world!', false],
    ],
    [],
  ],
  [
    'LF-delimited when a frame does not start with a digit (§3.4.2)',
    '<1>a\n<2>b\n',
    [
      ['<1>a', false],
      ['<2>b', false],
    ],
    [],
  ],
  [
    'CRLF: the trailing CR is stripped',
    '<1>a\r\n<2>b\r\n',
    [
      ['<1>a', false],
      ['<2>b', false],
    ],
    [],
  ],
  ['a CR inside a line is kept', '<1>a\rb\n', [['<1>a\rb', false]], []],
  ['empty lines are skipped', '\n\n<1>a\n\r\n\n', [['<1>a', false]], []],
  [
    'octet counting and LF mixed',
    '3 abc<1>x\n2 de\n<2>y',
    [
      ['abc', false],
      ['<1>x', false],
      ['de', false],
      ['<2>y', false],
    ],
    [],
  ],
  ['an octet-counted body may hold LF', '3 a\nb', [['a\nb', false]], []],
  ['trailing LF-less line flushed at end', '<1>tail', [['<1>tail', false]], []],
  ['leading zero length is refused, resync at next LF', '05 hello\n<1>ok\n', [['<1>ok', false]], ['SY_FRAME_LENGTH']],
  ['more than 10 digits is refused', '12345678901 x\n3 abc', [['abc', false]], ['SY_FRAME_LENGTH']],
  ['length not followed by SP is refused', '12x\n3 abc', [['abc', false]], ['SY_FRAME_SEPARATOR']],
  ['length followed by LF resyncs right after it', '12\n3 abc', [['abc', false]], ['SY_FRAME_SEPARATOR']],
  [
    'oversize octet frame truncated to maxFrame, rest skipped',
    '20 abcdefghijklmnopqrst3 xyz',
    [
      ['abcdefghijklmnop', true],
      ['xyz', false],
    ],
    [],
  ],
  [
    'oversize line truncated to maxFrame, rest skipped',
    '<1>abcdefghijklmnopqrstuvwxyz\n<2>b\n',
    [
      ['<1>abcdefghijklm', true],
      ['<2>b', false],
    ],
    [],
  ],
  ['line of exactly maxFrame + CRLF is not truncated', '<1>abcdefghijklm\r\n', [['<1>abcdefghijklm', false]], []],
  ['line of maxFrame + 1 bytes is truncated', '<1>abcdefghijklmn\n', [['<1>abcdefghijklm', true]], []],
  ['stream ends inside an octet-counted frame', '10 abc', [], ['SY_FRAME_TRUNCATED_BODY']],
  ['stream ends inside a length prefix', '3 abc12', [['abc', false]], ['SY_FRAME_TRUNCATED_BODY']],
];

for (const [name, input, frames, errors] of cases) {
  t.test(name, async (t) => {
    const whole = split([input], 16);
    t.same(whole.frames, frames, 'frames from one chunk');
    t.same(whole.errors, errors, 'errors from one chunk');
    // Split at every byte: pushing one byte at a time gives the same frames and errors.
    const bytes = split(
      [...Buffer.from(input, 'latin1')].map((b) => Buffer.from([b])),
      16,
    );
    t.same(bytes.frames, frames, 'frames byte by byte');
    t.same(bytes.errors, errors, 'errors byte by byte');
    t.ok(bytes.maxBuffered <= 17, `buffered ${bytes.maxBuffered} <= maxFrame + 1`);
    // And every two-chunk split point.
    for (let cut = 1; cut < input.length; cut++) {
      const two = split([input.slice(0, cut), input.slice(cut)], 16);
      if (
        JSON.stringify(two.frames) !== JSON.stringify(frames) ||
        JSON.stringify(two.errors) !== JSON.stringify(errors)
      ) {
        t.fail(`split at ${cut} differs: ${JSON.stringify(two)}`);
      }
    }
  });
}

t.test('error offsets point at the bad byte in the stream', async (t) => {
  const errs: FrameError[] = [];
  const s = new FrameSplitter({ onFrame: () => undefined, onError: (e) => errs.push(e) });
  s.push(Buffer.from('3 abc'));
  s.push(Buffer.from('07 x'));
  t.equal(errs.length, 1);
  t.equal(errs[0]!.code, 'SY_FRAME_LENGTH');
  t.equal(errs[0]!.offset, 5);
  t.ok(errs[0] instanceof FrameError);
});

t.test('a huge declared length holds at most maxFrame bytes and is truncated', async (t) => {
  const frames: [number, boolean][] = [];
  const s = new FrameSplitter({ onFrame: (f, tr) => frames.push([f.length, tr]), onError: () => t.fail('no error') });
  s.push(Buffer.from('9999999999 '));
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let max = 0;
  for (let i = 0; i < 32; i++) {
    s.push(chunk);
    max = Math.max(max, s.buffered);
  }
  t.ok(max <= MAX_FRAME, `buffered ${max} <= ${MAX_FRAME}`);
  t.equal(s.buffered, 0, 'nothing held while skipping the rest');
  t.same(frames, [[MAX_FRAME, true]], 'emitted once, truncated to MAX_FRAME');
});

t.test('a stalled sender holds at most the half frame it sent', async (t) => {
  const frames: Buffer[] = [];
  const s = new FrameSplitter({ onFrame: (f) => frames.push(f), onError: () => t.fail('no error') });
  const msg = Buffer.alloc(MAX_FRAME, 0x62);
  const framed = encodeFrame(msg);
  s.push(framed.subarray(0, framed.length / 2));
  t.ok(s.buffered <= MAX_FRAME);
  t.equal(frames.length, 0);
  s.push(framed.subarray(framed.length / 2));
  t.equal(s.buffered, 0);
  t.same(frames, [msg]);
});

t.test('a held partial frame does not pin the chunk it came from', async (t) => {
  const frames: Buffer[] = [];
  const s = new FrameSplitter({ onFrame: (f) => frames.push(f), onError: () => undefined });
  const chunk = Buffer.from('3 a');
  s.push(chunk);
  chunk.fill(0x7a); // the caller reuses its buffer
  s.push(Buffer.from('bc'));
  t.equal(frames[0]!.toString(), 'abc');
});

t.test('encodeFrame writes LEN SP MSG in octets', async (t) => {
  t.equal(encodeFrame('héllo').toString('utf8'), '6 héllo');
  t.equal(encodeFrame(Buffer.alloc(0)).toString(), '0 ');
});

t.test('splitBody: octet-counted frames only', async (t) => {
  const body = Buffer.concat([encodeFrame('<1>1 a'), encodeFrame('<2>1 b'), Buffer.from('\n'), encodeFrame('<3>1 c')]);
  const ok = splitBody(body);
  t.same(
    ok.frames.map((f) => f.frame.toString()),
    ['<1>1 a', '<2>1 b', '<3>1 c'],
  );
  t.equal(ok.error, undefined);

  const bad = splitBody(
    Buffer.concat([encodeFrame('<1>1 a'), Buffer.from('<2>1 not counted\n'), encodeFrame('<3>1 c')]),
  );
  t.same(
    bad.frames.map((f) => f.frame.toString()),
    ['<1>1 a'],
    'frames before the error are kept, none after',
  );
  t.equal(bad.error?.code, 'SY_FRAME_LENGTH');
  t.equal(bad.error?.offset, 8, 'offset of the first byte after the good frame');

  const short = splitBody(Buffer.from('6 <1>1 a10 <2>1'));
  t.equal(short.frames.length, 1);
  t.equal(short.error?.code, 'SY_FRAME_TRUNCATED_BODY');

  const long = splitBody(Buffer.concat([encodeFrame('x'.repeat(30)), encodeFrame('y')]), 10);
  t.same(
    long.frames.map((f) => [f.frame.toString(), f.truncated]),
    [
      ['x'.repeat(10), true],
      ['y', false],
    ],
  );

  t.same(splitBody(Buffer.alloc(0)), { frames: [] });
  t.equal(splitBody(Buffer.from('0 ')).error?.code, 'SY_FRAME_LENGTH', 'zero length has a leading zero');
});
