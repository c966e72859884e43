// The control API and Logplex API calls the operator commands make (design.md §Control API,
// §Logplex API), typed, over the one `call` of platform/api.ts.
import type { CertificateInfo } from '../../router/tls/certificate';
import { call, type Endpoint } from '../platform/api';

export interface DynoView {
  name: string;
  host: string;
  port: number;
  state: string;
  lease_expires_at: string;
  lease_live: boolean;
  in_flight: number;
}

export interface AppDetail {
  name: string;
  maintenance: boolean;
  balancer: string;
  affinity: boolean;
  channel: string | null;
  domains: string[];
  dynos: DynoView[];
}

export interface DrainView {
  id: number;
  token: string;
  url: string;
}

export interface DrainStatusView extends DrainView {
  created_at?: number;
  status: {
    delivered: number;
    retried: number;
    dropped: number;
    lost: number;
    backlog: number;
    last_success_at: number | null;
    last_error: string | null;
    owner: string | null;
  };
}

/** What the control API says of a domain's certificate (never the key). */
export interface CertView extends CertificateInfo {
  app: string;
  host: string;
  chain_length?: number;
}

const app = (name: string): string => `/v1/apps/${encodeURIComponent(name)}`;
const cert = (name: string, host: string): string => `${app(name)}/domains/${encodeURIComponent(host)}/certificate`;
const drains = (channel: string): string => `/v2/channels/${encodeURIComponent(channel)}/drains`;

export const controlCalls = {
  listApps: (ep: Endpoint) => call<{ apps: string[] }>(ep, 'GET', '/v1/apps'),
  getApp: (ep: Endpoint, name: string) => call<AppDetail>(ep, 'GET', app(name)),
  putApp: (ep: Endpoint, name: string, settings: { maintenance?: boolean } = {}) =>
    call<AppDetail>(ep, 'PUT', app(name), settings),
  deleteApp: (ep: Endpoint, name: string) => call<unknown>(ep, 'DELETE', app(name)),
  addDomain: (ep: Endpoint, name: string, host: string) =>
    call<{ app: string; host: string }>(ep, 'PUT', `${app(name)}/domains/${encodeURIComponent(host)}`, {}),
  removeDomain: (ep: Endpoint, name: string, host: string) =>
    call<unknown>(ep, 'DELETE', `${app(name)}/domains/${encodeURIComponent(host)}`),
  getCert: (ep: Endpoint, name: string, host: string) => call<CertView>(ep, 'GET', cert(name, host)),
  putCert: (ep: Endpoint, name: string, host: string, pems: { certificate_chain: string; private_key: string }) =>
    call<CertView>(ep, 'PUT', cert(name, host), pems),
  deleteCert: (ep: Endpoint, name: string, host: string) => call<unknown>(ep, 'DELETE', cert(name, host)),
};

export const logplexCalls = {
  deleteChannel: (ep: Endpoint, channel: string) =>
    call<unknown>(ep, 'DELETE', `/v2/channels/${encodeURIComponent(channel)}`),
  listDrains: (ep: Endpoint, channel: string) => call<DrainView[]>(ep, 'GET', drains(channel)),
  getDrain: (ep: Endpoint, channel: string, id: number) => call<DrainStatusView>(ep, 'GET', `${drains(channel)}/${id}`),
  addDrain: (ep: Endpoint, channel: string, url: string) => call<DrainView>(ep, 'POST', drains(channel), { url }),
  removeDrain: (ep: Endpoint, channel: string, id: number) => call<unknown>(ep, 'DELETE', `${drains(channel)}/${id}`),
};
