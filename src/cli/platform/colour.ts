// Terminal colours for log lines `TIME source[ps]: msg`, as `heroku logs` shows them: the
// source[ps] part coloured by source (router lines apart), errors in red. ANSI SGR codes only.
const LINE_RE = /^(\S+) ([^\s[]+)\[([^\]]+)\]: (.*)$/s;
const SGR = {
  dim: '\x1b[2m',
  green: '\x1b[32m',
  magenta: '\x1b[35m',
  cyan: '\x1b[36m',
  yellow: '\x1b[33m',
  red: '\x1b[31m',
  reset: '\x1b[0m',
};

export function colourLine(line: string): string {
  const m = LINE_RE.exec(line);
  if (!m) return line;
  const [, time, source, ps, msg] = m as unknown as [string, string, string, string, string];
  const who =
    source === 'app' ? SGR.green : source === 'heroku' ? (ps === 'router' ? SGR.cyan : SGR.magenta) : SGR.yellow;
  const body = /\bat=error\b|^Error L1\d/.test(msg) ? `${SGR.red}${msg}${SGR.reset}` : msg;
  return `${SGR.dim}${time}${SGR.reset} ${who}${source}[${ps}]:${SGR.reset} ${body}`;
}
