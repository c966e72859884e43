// The stamp step: every line's time in Logplex's shape, whatever valid RFC 5424 TIMESTAMP came in.
import t from 'tap';
import { stampTime } from '../../src/logplex/stamp';

const arrival = (): string => 'ARRIVAL';
const cases: [string, string][] = [
  ['2026-11-26T10:00:00.123456+00:00', '2026-11-26T10:00:00.123456+00:00'],
  ['2026-11-26T10:00:00Z', '2026-11-26T10:00:00.000000+00:00'],
  ['2026-11-26T10:00:00.5Z', '2026-11-26T10:00:00.500000+00:00'],
  ['2026-11-26T10:00:00.123456Z', '2026-11-26T10:00:00.123456+00:00'],
  ['2026-11-26T12:30:00.000001+02:30', '2026-11-26T10:00:00.000001+00:00'],
  ['2026-11-26T10:00:00.123456-01:00', '2026-11-26T11:00:00.123456+00:00'],
  ['', 'ARRIVAL'],
];
for (const [input, want] of cases) {
  t.test(`${JSON.stringify(input)} → ${want}`, async (t) => {
    t.equal(stampTime(input, arrival), want);
  });
}
