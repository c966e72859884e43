// RFC 5424 on Buffers. parseSyslog returns errors as values and never throws; formatSyslog
// writes strictly valid messages. design.md §Ingest: Logplex's own clients omit STRUCTURED-DATA, so
// after MSGID anything that is neither `-` nor `[` begins MSG.
import { MAX_FRAME } from './frame';
import { validTimestamp } from './timestamp';

export { formatTimestamp, validTimestamp } from './timestamp';

export interface SdElement {
  id: string;
  params: [string, string][];
}

export interface SyslogMessage {
  pri: number;
  version: number;
  /** '' for NILVALUE; otherwise the RFC 3339 string as sent. */
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  sd: SdElement[];
  /** May be empty; a leading UTF-8 BOM is removed (RFC 5424 §6.4). */
  msg: Buffer;
}

export type SyslogErrorCode =
  'SY_SYSLOG_PRI' | 'SY_SYSLOG_VERSION' | 'SY_SYSLOG_HEADER' | 'SY_SYSLOG_TIMESTAMP' | 'SY_SYSLOG_SD';

export class SyslogParseError extends Error {
  readonly code: SyslogErrorCode;
  constructor(code: SyslogErrorCode, message: string) {
    super(message);
    this.name = 'SyslogParseError';
    this.code = code;
  }
}

/** Appended to the MSG of a frame cut at MAX_FRAME (design.md §Ingest: truncated with a marker, never dropped silently). */
export const TRUNCATED_MARKER = ` [truncated: line exceeded ${MAX_FRAME} bytes]`;

/** RFC 5424 §6: maximum lengths of the header fields. */
export const HEADER_LIMITS = { hostname: 255, appName: 48, procId: 128, msgId: 32 } as const;
const SD_NAME_MAX = 32;

const SP = 0x20;
const LT = 0x3c;
const GT = 0x3e;
const DASH = 0x2d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const EQ = 0x3d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

const isPrint = (b: number): boolean => b >= 0x21 && b <= 0x7e;
const isSdNameByte = (b: number): boolean => isPrint(b) && b !== EQ && b !== RBRACKET && b !== QUOTE;

type Cursor = { pos: number };

export function parseSyslog(frame: Buffer): SyslogMessage | SyslogParseError {
  const c: Cursor = { pos: 0 };
  const pri = readPri(frame, c);
  if (pri instanceof SyslogParseError) return pri;

  // §6.2.2 VERSION = NONZERO-DIGIT 0*2DIGIT; we speak version 1 only.
  if (frame[c.pos] === 0x31 && frame[c.pos + 1] === SP) c.pos += 2;
  else {
    const vEnd = frame.indexOf(SP, c.pos);
    const vText = frame.toString('latin1', c.pos, vEnd === -1 ? frame.length : vEnd);
    if (!/^[1-9][0-9]{0,2}$/.test(vText))
      return new SyslogParseError('SY_SYSLOG_VERSION', `bad VERSION "${clip(vText)}"`);
    if (vText !== '1') return new SyslogParseError('SY_SYSLOG_VERSION', `unsupported VERSION ${vText}, expected 1`);
    return new SyslogParseError('SY_SYSLOG_HEADER', 'header ends after VERSION');
  }

  const ts = readField(frame, c, 'TIMESTAMP', 64);
  if (ts instanceof SyslogParseError) return new SyslogParseError('SY_SYSLOG_TIMESTAMP', ts.message);
  if (ts !== '' && !validTimestamp(ts))
    return new SyslogParseError('SY_SYSLOG_TIMESTAMP', `bad TIMESTAMP "${clip(ts)}"`);
  const hostname = readField(frame, c, 'HOSTNAME', HEADER_LIMITS.hostname, false, LAST.hostname);
  if (hostname instanceof SyslogParseError) return hostname;
  const appName = readField(frame, c, 'APP-NAME', HEADER_LIMITS.appName, false, LAST.appName);
  if (appName instanceof SyslogParseError) return appName;
  const procId = readField(frame, c, 'PROCID', HEADER_LIMITS.procId, false, LAST.procId);
  if (procId instanceof SyslogParseError) return procId;
  const msgId = readField(frame, c, 'MSGID', HEADER_LIMITS.msgId, true, LAST.msgId);
  if (msgId instanceof SyslogParseError) return msgId;

  // An explicit literal (not a spread): one object shape for every message, on the ingest hot path.
  const m: SyslogMessage = { pri, version: 1, timestamp: ts, hostname, appName, procId, msgId, sd: [], msg: EMPTY };
  if (c.pos >= frame.length) return m;
  c.pos++; // the SP after MSGID
  const first = frame[c.pos];
  if (first === DASH && (c.pos + 1 === frame.length || frame[c.pos + 1] === SP)) {
    c.pos++;
  } else if (first === LBRACKET) {
    const parsed = readSd(frame, c);
    if (parsed instanceof SyslogParseError) return parsed;
    m.sd = parsed;
  } else {
    m.msg = readMsg(frame, c.pos); // STRUCTURED-DATA omitted (Logplex shape)
    return m;
  }
  if (c.pos < frame.length) {
    if (frame[c.pos] !== SP)
      return new SyslogParseError('SY_SYSLOG_SD', `STRUCTURED-DATA not followed by SP at byte ${c.pos}`);
    c.pos++;
  }
  m.msg = readMsg(frame, c.pos);
  return m;
}

const EMPTY = Buffer.alloc(0);

// §6.2.1 PRI = "<" PRIVAL ">", PRIVAL 0..191, no leading zeros.
function readPri(frame: Buffer, c: Cursor): number | SyslogParseError {
  if (frame[0] !== LT) return new SyslogParseError('SY_SYSLOG_PRI', 'message does not start with "<"');
  let pri = 0;
  let i = 1;
  for (; i < frame.length && i <= 4; i++) {
    const b = frame[i]!;
    if (b === GT) break;
    if (b < 0x30 || b > 0x39 || (i === 2 && frame[1] === 0x30))
      return new SyslogParseError('SY_SYSLOG_PRI', `bad PRI "<${clip(frame.toString('latin1', 1, i + 1))}"`);
    pri = pri * 10 + (b - 0x30);
  }
  if (frame[i] !== GT || i > 4)
    return new SyslogParseError('SY_SYSLOG_PRI', 'PRI is not closed by ">" within 3 digits');
  if (i === 1) return new SyslogParseError('SY_SYSLOG_PRI', 'empty PRI');
  if (pri > 191) return new SyslogParseError('SY_SYSLOG_PRI', `PRI ${pri} out of range 0-191`);
  c.pos = i + 1;
  return pri;
}

/**
 * The last value of a header field and its bytes. A sender repeats HOSTNAME, APP-NAME and PROCID
 * from line to line: a field equal to the last one (compared while its bytes are checked anyway)
 * is that string again, not a new one. The TIMESTAMP changes with every line and is not kept.
 */
class LastField {
  bytes: Buffer;
  len = -1;
  text = '';
  constructor(max: number) {
    this.bytes = Buffer.alloc(max);
  }
}

const LAST = {
  hostname: new LastField(HEADER_LIMITS.hostname),
  appName: new LastField(HEADER_LIMITS.appName),
  procId: new LastField(HEADER_LIMITS.procId),
  msgId: new LastField(HEADER_LIMITS.msgId),
};

/** One header field: 1..max PRINTUSASCII up to SP; `-` is NILVALUE → ''. */
function readField(
  frame: Buffer,
  c: Cursor,
  name: string,
  max: number,
  last = false,
  prev?: LastField,
): string | SyslogParseError {
  const start = c.pos;
  let i = start;
  let same = prev !== undefined;
  while (i < frame.length && frame[i] !== SP) {
    const b = frame[i]!;
    if (!isPrint(b)) return new SyslogParseError('SY_SYSLOG_HEADER', `${name} has a byte outside PRINTUSASCII at ${i}`);
    if (i - start >= max) return new SyslogParseError('SY_SYSLOG_HEADER', `${name} longer than ${max} characters`);
    if (same && prev!.bytes[i - start] !== b) same = false;
    i++;
  }
  if (i === start) return new SyslogParseError('SY_SYSLOG_HEADER', `${name} is empty`);
  if (i === frame.length && !last) return new SyslogParseError('SY_SYSLOG_HEADER', `header ends after ${name}`);
  c.pos = last ? i : i + 1;
  if (i - start === 1 && frame[start] === DASH) return '';
  if (same && prev!.len === i - start) return prev!.text;
  const text = frame.toString('latin1', start, i);
  if (prev) {
    frame.copy(prev.bytes, 0, start, i);
    prev.len = i - start;
    prev.text = text;
  }
  return text;
}

// §6.3 SD-ELEMENT = "[" SD-ID *(SP SD-PARAM) "]"; SD-PARAM = PARAM-NAME "=" DQUOTE PARAM-VALUE DQUOTE.
function readSd(frame: Buffer, c: Cursor): SdElement[] | SyslogParseError {
  const out: SdElement[] = [];
  while (frame[c.pos] === LBRACKET) {
    c.pos++;
    const id = readSdName(frame, c, 'SD-ID');
    if (id instanceof SyslogParseError) return id;
    const params: [string, string][] = [];
    while (frame[c.pos] === SP) {
      c.pos++;
      const name = readSdName(frame, c, 'PARAM-NAME');
      if (name instanceof SyslogParseError) return name;
      if (frame[c.pos] !== EQ || frame[c.pos + 1] !== QUOTE)
        return sdError(`expected ="…" after PARAM-NAME at byte ${c.pos}`);
      c.pos += 2;
      const value = readParamValue(frame, c);
      if (value instanceof SyslogParseError) return value;
      params.push([name, value]);
    }
    if (frame[c.pos] !== RBRACKET) return sdError(`SD-ELEMENT not closed by "]" at byte ${c.pos}`);
    c.pos++;
    out.push({ id, params });
  }
  return out;
}

function readSdName(frame: Buffer, c: Cursor, what: string): string | SyslogParseError {
  const start = c.pos;
  while (c.pos < frame.length && isSdNameByte(frame[c.pos]!)) {
    if (c.pos - start >= SD_NAME_MAX) return sdError(`${what} longer than ${SD_NAME_MAX} characters`);
    c.pos++;
  }
  if (c.pos === start) return sdError(`empty or invalid ${what} at byte ${start}`);
  return frame.toString('latin1', start, c.pos);
}

// §6.3.3: inside PARAM-VALUE, '"', '\' and ']' are escaped with '\'; a '\' before any other
// character is kept as a literal backslash.
function readParamValue(frame: Buffer, c: Cursor): string | SyslogParseError {
  let start = c.pos;
  let value = '';
  for (let i = c.pos; i < frame.length; i++) {
    const b = frame[i];
    if (b === BACKSLASH) {
      const next = frame[i + 1];
      if (next === QUOTE || next === BACKSLASH || next === RBRACKET) {
        value += frame.toString('utf8', start, i);
        start = i + 1;
        i++;
      }
    } else if (b === QUOTE) {
      value += frame.toString('utf8', start, i);
      c.pos = i + 1;
      return value;
    }
  }
  return sdError("PARAM-VALUE not closed by '\"'");
}

function readMsg(frame: Buffer, pos: number): Buffer {
  if (frame[pos] === 0xef && frame[pos + 1] === 0xbb && frame[pos + 2] === 0xbf) pos += 3;
  return frame.subarray(pos);
}

const sdError = (message: string): SyslogParseError => new SyslogParseError('SY_SYSLOG_SD', message);
const clip = (s: string): string => (s.length > 40 ? s.slice(0, 40) + '…' : s).replace(/[^\x20-\x7e]/g, '?');

export interface FormatInput {
  pri: number;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId?: string;
  /** null: omit STRUCTURED-DATA entirely (Logplex's HTTPS drain shape); undefined or []: `-`. */
  sd?: SdElement[] | null;
  msg: Buffer | string;
}

/**
 * A strictly valid RFC 5424 message (except with `sd: null`, Logplex's own shape). Header fields
 * are cut to their §6 lengths, bytes outside PRINTUSASCII become `_`, empty fields are `-`, an
 * invalid timestamp becomes `-`, and a PRI outside 0-191 becomes 190 (local7.info).
 */
export function formatSyslog(m: FormatInput): Buffer {
  const head = formatHead(m);
  const msg = typeof m.msg === 'string' ? Buffer.from(m.msg, 'utf8') : m.msg;
  if (msg.length === 0) return Buffer.from(head, 'utf8');
  const headLen = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(headLen + 1 + msg.length);
  out.write(head, 0, 'utf8');
  out[headLen] = SP;
  msg.copy(out, headLen + 1);
  return out;
}

/**
 * `formatSyslog` up to and without the SP before MSG, as a string: for writers that lay many
 * messages into one Buffer (drain batches). Only SD-PARAM values can make it non-ASCII.
 */
export function formatHead(m: Omit<FormatInput, 'msg'>): string {
  const pri = Number.isInteger(m.pri) && m.pri >= 0 && m.pri <= 191 ? m.pri : 190;
  const ts = m.timestamp !== '' && validTimestamp(m.timestamp) ? m.timestamp : '-';
  let head = `<${pri}>1 ${ts} ${headerField(m.hostname, HEADER_LIMITS.hostname)} ${headerField(m.appName, HEADER_LIMITS.appName)} ${headerField(
    m.procId,
    HEADER_LIMITS.procId,
  )} ${headerField(m.msgId ?? '', HEADER_LIMITS.msgId)}`;
  if (m.sd !== null) head += ' ' + formatSd(m.sd ?? []);
  return head;
}

function headerField(value: string, max: number): string {
  if (value === '') return '-';
  const clean = /^[\x21-\x7e]*$/.test(value) ? value : value.replace(/[^\x21-\x7e]/g, '_');
  return clean.length > max ? clean.slice(0, max) : clean;
}

function sdName(value: string): string {
  const clean = value.replace(/[^\x21-\x7e]|[="\]]/g, '_');
  return (clean === '' ? '_' : clean).slice(0, SD_NAME_MAX);
}

function formatSd(sd: SdElement[]): string {
  if (sd.length === 0) return '-';
  let out = '';
  for (const el of sd) {
    out += '[' + sdName(el.id);
    for (const [name, value] of el.params) out += ` ${sdName(name)}="${value.replace(/["\\\]]/g, (ch) => '\\' + ch)}"`;
    out += ']';
  }
  return out;
}

/** The first SD-PARAM with that name in any element (design.md §Ingest: a `token` param names the token). */
export function sdParam(m: SyslogMessage, name: string): string | undefined {
  for (const el of m.sd) for (const [k, v] of el.params) if (k === name) return v;
  return undefined;
}
