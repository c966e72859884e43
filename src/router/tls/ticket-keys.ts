// Session-ticket keys shared by every router node (RFC 8446 §4.6.1, RFC 5077): time is cut into
// periods of ROUTER_TLS_TICKET_ROTATE_MS; the first node to need period N's key creates it at
// random in the store (SET NX), every node reads the same bytes, and all switch at the period's
// start. A ticket sealed by any node therefore resumes on any other until the next switch. The
// store forgets a key three periods later, so a stolen store cannot open old tickets forever.
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../shared/log';
import { errorFields } from '../../shared/log';
import { TICKET_KEY_BYTES, type CertStore } from '../store/certs';

/** Retry delay after the store failed to hand out a key. */
const RETRY_MS = 1_000;

export interface TicketKeysOptions {
  store: Pick<CertStore, 'ticketKey'>;
  rotateMs: number;
  log: Logger;
  /** Installs a key on the listener. */
  apply: (key: Buffer) => void;
  now?: () => number;
}

export class TicketKeys {
  readonly #o: TicketKeysOptions;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #local = false;
  /** The period whose key is installed; undefined while a node-local key stands in. */
  epoch: number | undefined;

  constructor(opts: TicketKeysOptions) {
    this.#o = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** Installs the current period's key; with the store away, a node-local key until it returns. */
  async start(): Promise<void> {
    await this.#refresh();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  async #refresh(): Promise<void> {
    const { store, rotateMs, log, apply } = this.#o;
    const epoch = Math.floor(this.#now() / rotateMs);
    let delay: number;
    if (epoch === this.epoch) {
      // A timer may fire a moment before the wall clock reaches the period's start: the key stays.
      this.#timer = setTimeout(() => void this.#refresh(), (epoch + 1) * rotateMs - this.#now() + 1);
      return;
    }
    try {
      const key = await store.ticketKey(epoch, 3 * rotateMs);
      if (this.#closed) return;
      apply(key);
      this.epoch = epoch;
      delay = (epoch + 1) * rotateMs - this.#now();
    } catch (err) {
      if (this.#closed) return;
      if (this.epoch === undefined && !this.#local) {
        // Resumption still works on this node; across nodes it waits for the store.
        apply(randomBytes(TICKET_KEY_BYTES));
        this.#local = true;
      }
      log.warn('TLS ticket key unavailable from the store; retrying', errorFields(err));
      delay = RETRY_MS;
    }
    this.#timer = setTimeout(() => void this.#refresh(), Math.max(0, delay));
  }
}
