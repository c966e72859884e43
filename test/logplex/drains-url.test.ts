// Drain URL validation (DESIGN §4: 422 naming what is wrong), as a table.
import t from 'tap';
import { canonicalUrl, validateDrainUrl } from '../../src/logplex/drains/index';
import { ApiError } from '../../src/shared/json-api';

const bad: [unknown, RegExp][] = [
  [undefined, /"url" must be a non-empty string/],
  [42, /"url" must be a non-empty string/],
  ['', /"url" must be a non-empty string/],
  ['not a url', /is not a URL/],
  ['ftp://logs.example/', /scheme "ftp" is not supported/],
  ['syslog://logs.example', /missing port/],
  ['syslog://user:pw@logs.example:514', /credentials are not allowed/],
  ['syslog+tls://logs.example:6514/path', /no path, query or fragment/],
  ['syslog://logs.example:514?x=1', /no path, query or fragment/],
  ['https://logs.example/in#frag', /fragment is not allowed/],
  ['https://logs.example:0/', /port 0/],
  ['https://' + 'a'.repeat(2100) + '.example/', /longer than 2048/],
  ['otlp+http://c.example:4318/?format=xml', /format must be protobuf or json/],
  ['otlp+http://c.example:4318/v1/logs?token=x', /unknown query parameter "token"/],
  ['otlps+http://c.example/v1/logs#x', /fragment is not allowed/],
  ['otlp+grpc://c.example:4317', /scheme "otlp\+grpc" is not supported/],
];

t.test('invalid drain URLs are 422 with the reason', async (t) => {
  for (const [url, why] of bad) {
    let err: unknown;
    try {
      validateDrainUrl(url);
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof ApiError && err.status === 422, `${String(url).slice(0, 40)} is 422`);
    t.match((err as Error).message, why);
  }
});

t.test('valid drain URLs and their canonical form', async (t) => {
  const good: [string, string][] = [
    ['syslog://Logs.Example:514', 'syslog://logs.example:514'],
    ['syslog+tls://logs.example:6514/', 'syslog+tls://logs.example:6514'],
    ['https://user:pw@logs.example/in?x=1', 'https://user:pw@logs.example/in?x=1'],
    ['http://127.0.0.1:8080', 'http://127.0.0.1:8080/'],
    ['otlp+http://Collector.Example:4318', 'otlp+http://collector.example:4318/v1/logs'],
    ['otlp+http://collector.example:4318/?format=protobuf', 'otlp+http://collector.example:4318/v1/logs'],
    ['otlps+http://k:s@c.example/ingest/logs?format=json', 'otlps+http://k:s@c.example/ingest/logs?format=json'],
  ];
  for (const [raw, canon] of good) t.equal(canonicalUrl(validateDrainUrl(raw)), canon, raw);
});
