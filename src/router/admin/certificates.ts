// Certificate routes of the control API (design.md §Control API): a domain's certificate is
// PUT as PEM chain and key, checked (tls/certificate.ts) and stored; GET shows what it is,
// never the key; DELETE removes it. Every router node serves the change on its next handshake.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, readJsonObject, rejectUnknown, sendJson, type Params } from '../../shared/json-api';
import type { CertStore } from '../store/certs';
import { CERT_LIMITS, checkCertificate, describe, splitChain } from '../tls/certificate';
import { X509Certificate } from 'node:crypto';
import * as v from './validate';

type Add = (
  method: string,
  pattern: string,
  fn: (req: IncomingMessage, res: ServerResponse, p: Params) => Promise<void>,
) => void;

/** JSON escaping of PEM adds a few bytes a line: room for the largest accepted chain and key. */
const BODY_LIMIT = 2 * CERT_LIMITS.pemBytes;

const PATTERN = '/v1/apps/:app/domains/:host/certificate';

export function addCertificateRoutes(add: Add, store: CertStore, stored: <T>(p: Promise<T>) => Promise<T>): void {
  add('PUT', PATTERN, async (req, res, p) => {
    const app = v.appName(p.app!);
    const host = v.hostname(p.host!);
    const body = await readJsonObject(req, BODY_LIMIT);
    rejectUnknown(body, ['certificate_chain', 'private_key']);
    const chain = body.certificate_chain;
    const key = body.private_key;
    if (typeof chain !== 'string' || typeof key !== 'string')
      throw new ApiError('invalid_params', 'certificate_chain and private_key are required PEM strings');
    const checked = checkCertificate(chain, key, host);
    if (checked.problems.length > 0 || checked.info === undefined)
      throw new ApiError('unprocessable_entity', checked.problems.join('; '));
    const { created } = await stored(store.putCert({ app, host, chain: splitChain(chain).join('\n') + '\n', key }));
    sendJson(res, created ? 201 : 200, { app, host, ...checked.info });
  });

  add('GET', PATTERN, async (_req, res, p) => {
    const app = v.appName(p.app!);
    const host = v.hostname(p.host!);
    const cert = await store.getCert(app, host);
    if (!cert) throw new ApiError('not_found', `domain ${host} of app ${app} has no certificate`);
    const pems = splitChain(cert.chain);
    sendJson(res, 200, { app, host, ...describe(new X509Certificate(pems[0]!)), chain_length: pems.length });
  });

  add('DELETE', PATTERN, async (_req, res, p) => {
    const app = v.appName(p.app!);
    const host = v.hostname(p.host!);
    if (!(await stored(store.deleteCert(app, host))))
      throw new ApiError('not_found', `domain ${host} of app ${app} has no certificate`);
    sendJson(res, 204, undefined);
  });
}
