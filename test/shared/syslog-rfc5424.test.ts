import t from 'tap';
import {
  formatSyslog,
  formatTimestamp,
  parseSyslog,
  sdParam,
  SyslogMessage,
  SyslogParseError,
  TRUNCATED_MARKER,
} from '../../src/shared/syslog/rfc5424';

const TS = '2026-11-26T10:00:00.123456+00:00';

function ok(t: { fail(msg: string): void }, input: string | Buffer): SyslogMessage {
  const m = parseSyslog(typeof input === 'string' ? Buffer.from(input, 'utf8') : input);
  if (m instanceof SyslogParseError) {
    t.fail(`unexpected ${m.code}: ${m.message}`);
    throw m;
  }
  return m;
}

// Valid messages: input → expected fields (msg as a string).
const valid: [string, string | Buffer, Partial<Omit<SyslogMessage, 'msg'>> & { msg?: string }][] = [
  [
    'all fields, NIL SD (RFC 5424 §6.5 example 1 shape)',
    `<34>1 ${TS} mymachine su 42 ID47 - 'su root' failed`,
    {
      pri: 34,
      version: 1,
      timestamp: TS,
      hostname: 'mymachine',
      appName: 'su',
      procId: '42',
      msgId: 'ID47',
      sd: [],
      msg: "'su root' failed",
    },
  ],
  [
    'NILVALUE everywhere, no MSG',
    '<0>1 - - - - - -',
    { pri: 0, timestamp: '', hostname: '', appName: '', procId: '', msgId: '', sd: [], msg: '' },
  ],
  ['header only, no SD at all', '<13>1 - h a p m', { hostname: 'h', sd: [], msg: '' }],
  [
    'SD omitted, as Logplex clients send (design.md §Ingest)',
    `<134>1 ${TS} host t.abc web.1 - Starting process`,
    { appName: 't.abc', procId: 'web.1', msgId: '', sd: [], msg: 'Starting process' },
  ],
  ['empty MSG after SD', '<13>1 - h a p m - ', { sd: [], msg: '' }],
  [
    'UTF-8 BOM removed from MSG (§6.4)',
    Buffer.concat([Buffer.from('<13>1 - h a p m - '), Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('héllo')]),
    { msg: 'héllo' },
  ],
  [
    'SD element with params',
    `<165>1 ${TS} h a p m [exampleSDID@32473 iut="3" eventSource="Application"] msg`,
    {
      sd: [
        {
          id: 'exampleSDID@32473',
          params: [
            ['iut', '3'],
            ['eventSource', 'Application'],
          ],
        },
      ],
      msg: 'msg',
    },
  ],
  [
    'multiple SD elements, no MSG',
    '<165>1 - h a p m [a@1 x="1"][b@2][c@3 y=""]',
    {
      sd: [
        { id: 'a@1', params: [['x', '1']] },
        { id: 'b@2', params: [] },
        { id: 'c@3', params: [['y', '']] },
      ],
      msg: '',
    },
  ],
  [
    'SD escapes \\" \\\\ \\] (§6.3.3); other backslashes kept',
    '<1>1 - h a p m [x@1 v="q\\"b\\\\r\\]n\\t"] m',
    { sd: [{ id: 'x@1', params: [['v', 'q"b\\r]n\\t']] }], msg: 'm' },
  ],
  ['UTF-8 in PARAM-VALUE', '<1>1 - h a p m [x@1 v="héllo ✓"]', { sd: [{ id: 'x@1', params: [['v', 'héllo ✓']] }] }],
  ['PRI 191 and 0 are the bounds', '<191>1 - h a p m -', { pri: 191 }],
  ['timestamp with Z and no fraction', '<1>1 2026-02-28T23:59:59Z h a p m -', { timestamp: '2026-02-28T23:59:59Z' }],
  [
    'timestamp with negative offset',
    '<1>1 2026-11-26T10:00:00.1-05:30 h a p m -',
    { timestamp: '2026-11-26T10:00:00.1-05:30' },
  ],
  ['MSG starting with "-" without SP after it is MSG', '<1>1 - h a p m -hello', { sd: [], msg: '-hello' }],
  [
    'fields at their maximum lengths',
    `<1>1 - ${'h'.repeat(255)} ${'a'.repeat(48)} ${'p'.repeat(128)} ${'m'.repeat(32)} - x`,
    { hostname: 'h'.repeat(255), appName: 'a'.repeat(48), procId: 'p'.repeat(128), msgId: 'm'.repeat(32), msg: 'x' },
  ],
];

for (const [name, input, want] of valid) {
  t.test(`parses: ${name}`, async (t) => {
    const m = ok(t, input);
    const { msg, ...fields } = want;
    if (msg !== undefined) t.equal(m.msg.toString('utf8'), msg);
    t.match(m, fields);
    if (fields.sd) t.same(m.sd, fields.sd);
  });
}

// Invalid messages: input → error code. Errors are values, never thrown.
const invalid: [string, string | Buffer, string][] = [
  ['PRI above 191', '<192>1 - h a p m -', 'SY_SYSLOG_PRI'],
  ['PRI with a leading zero', '<01>1 - h a p m -', 'SY_SYSLOG_PRI'],
  ['PRI without ">"', '<13 1 - h a p m -', 'SY_SYSLOG_PRI'],
  ['no PRI', '13>1 - h a p m -', 'SY_SYSLOG_PRI'],
  ['empty PRI', '<>1 - h a p m -', 'SY_SYSLOG_PRI'],
  ['empty frame', '', 'SY_SYSLOG_PRI'],
  ['version 2', '<13>2 - h a p m -', 'SY_SYSLOG_VERSION'],
  ['version missing (RFC 3164 style)', '<13>Nov 26 10:00:00 host msg', 'SY_SYSLOG_VERSION'],
  ['version with leading zero', '<13>01 - h a p m -', 'SY_SYSLOG_VERSION'],
  ['HOSTNAME of 256', `<13>1 - ${'h'.repeat(256)} a p m -`, 'SY_SYSLOG_HEADER'],
  ['APP-NAME of 49', `<13>1 - h ${'a'.repeat(49)} p m -`, 'SY_SYSLOG_HEADER'],
  ['PROCID of 129', `<13>1 - h a ${'p'.repeat(129)} m -`, 'SY_SYSLOG_HEADER'],
  ['MSGID of 33', `<13>1 - h a p ${'m'.repeat(33)} -`, 'SY_SYSLOG_HEADER'],
  ['non-ASCII in APP-NAME', '<13>1 - h ä p m -', 'SY_SYSLOG_HEADER'],
  ['two spaces (empty field)', '<13>1 - h  p m -', 'SY_SYSLOG_HEADER'],
  ['header ends early', '<13>1 - h a', 'SY_SYSLOG_HEADER'],
  ['timestamp without T', '<13>1 2026-11-26 10:00:00Z h a p m -', 'SY_SYSLOG_TIMESTAMP'],
  ['timestamp lower-case t', '<13>1 2026-11-26t10:00:00Z h a p m -', 'SY_SYSLOG_TIMESTAMP'],
  ['timestamp without offset', '<13>1 2026-11-26T10:00:00 h a p m -', 'SY_SYSLOG_TIMESTAMP'],
  ['timestamp with 7 fraction digits', '<13>1 2026-11-26T10:00:00.1234567Z h a p m -', 'SY_SYSLOG_TIMESTAMP'],
  ['timestamp month 13', '<13>1 2026-13-26T10:00:00Z h a p m -', 'SY_SYSLOG_TIMESTAMP'],
  ['timestamp hour 24', '<13>1 2026-11-26T24:00:00Z h a p m -', 'SY_SYSLOG_TIMESTAMP'],
  ['timestamp leap second', '<13>1 2026-12-31T23:59:60Z h a p m -', 'SY_SYSLOG_TIMESTAMP'],
  ['timestamp Feb 30', '<13>1 2026-02-30T10:00:00Z h a p m -', 'SY_SYSLOG_TIMESTAMP'],
  ['SD not closed', '<13>1 - h a p m [x@1 a="b"', 'SY_SYSLOG_SD'],
  ['SD value not closed', '<13>1 - h a p m [x@1 a="b]', 'SY_SYSLOG_SD'],
  ['SD value unquoted', '<13>1 - h a p m [x@1 a=b]', 'SY_SYSLOG_SD'],
  ['SD-ID empty', '<13>1 - h a p m [] msg', 'SY_SYSLOG_SD'],
  ['SD-ID of 33', `<13>1 - h a p m [${'x'.repeat(33)}]`, 'SY_SYSLOG_SD'],
  ['SD followed by no SP', '<13>1 - h a p m [x@1]msg', 'SY_SYSLOG_SD'],
];

for (const [name, input, code] of invalid) {
  t.test(`refuses: ${name} → ${code}`, async (t) => {
    const r = parseSyslog(typeof input === 'string' ? Buffer.from(input, 'utf8') : input);
    t.ok(r instanceof SyslogParseError, 'an error value');
    t.equal((r as SyslogParseError).code, code);
  });
}

t.test('sdParam finds the first param by name in any element', async (t) => {
  const m = ok(t, '<13>1 - h logger p m [a@1 x="1"][x@32473 token="t.abc" token="t.other"] msg');
  t.equal(sdParam(m, 'token'), 't.abc');
  t.equal(sdParam(m, 'x'), '1');
  t.equal(sdParam(m, 'nope'), undefined);
});

t.test('formatSyslog writes strictly valid RFC 5424', async (t) => {
  t.equal(
    formatSyslog({
      pri: 190,
      timestamp: TS,
      hostname: 'host',
      appName: 't.abc',
      procId: 'web.1',
      msg: 'hello',
    }).toString(),
    `<190>1 ${TS} host t.abc web.1 - - hello`,
  );
  t.equal(
    formatSyslog({
      pri: 190,
      timestamp: TS,
      hostname: 'host',
      appName: 'app',
      procId: 'web.1',
      sd: null,
      msg: 'hello',
    }).toString(),
    `<190>1 ${TS} host app web.1 - hello`,
    'sd: null omits STRUCTURED-DATA (Logplex HTTPS drain shape)',
  );
  t.equal(
    formatSyslog({ pri: 13, timestamp: '', hostname: '', appName: '', procId: '', msg: '' }).toString(),
    '<13>1 - - - - - -',
    'NILVALUE for empty fields',
  );
  t.equal(
    formatSyslog({
      pri: 13,
      timestamp: 'yesterday',
      hostname: 'a b',
      appName: 'ä',
      procId: 'x'.repeat(200),
      msgId: 'id',
      sd: [{ id: 'a b=', params: [['k', 'q"\\]']] }],
      msg: 'm',
    }).toString(),
    `<13>1 - a_b _ ${'x'.repeat(128)} id [a_b_ k="q\\"\\\\\\]"] m`,
    'invalid timestamp → -, non-PRINTUSASCII → _, lengths cut, SD escaped',
  );
  t.equal(
    formatSyslog({ pri: 500, timestamp: '', hostname: 'h', appName: 'a', procId: 'p', msg: 'm' }).toString(),
    '<190>1 - h a p - - m',
  );
  const bin = Buffer.from([0xff, 0x00, 0x0a]);
  const out = formatSyslog({ pri: 1, timestamp: '', hostname: 'h', appName: 'a', procId: 'p', msg: bin });
  t.same(out.subarray(out.length - 3), bin, 'MSG bytes copied as they are');
});

t.test('formatTimestamp is Logplex-shaped UTC with microseconds', async (t) => {
  const ms = Date.UTC(2026, 10, 26, 10, 0, 0, 123);
  t.equal(formatTimestamp(ms), '2026-11-26T10:00:00.123000+00:00');
  t.equal(formatTimestamp(ms, 456), '2026-11-26T10:00:00.123456+00:00');
  t.equal(formatTimestamp(Date.UTC(2026, 0, 2, 3, 4, 5, 6)), '2026-01-02T03:04:05.006000+00:00');
  t.notOk(
    parseSyslog(Buffer.from(`<1>1 ${formatTimestamp(ms, 456)} h a p m -`)) instanceof SyslogParseError,
    'valid RFC 5424 TIMESTAMP',
  );
});

t.test('TRUNCATED_MARKER names the 10 KiB limit', async (t) => {
  t.equal(TRUNCATED_MARKER, ' [truncated: line exceeded 10240 bytes]');
});
