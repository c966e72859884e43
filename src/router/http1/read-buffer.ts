// The one buffer both sides of the data plane read into (design.md §Request path step 5): pooled dyno
// connections (upstream/pool.ts) and the plain listener's client connections (client/lent-reads.ts)
// read with `onread` into it instead of a fresh 64 KiB per read. Reads run one at a time, each
// handled to its end before the next callback runs, so one buffer serves every socket of the
// process; its bytes are only lent to the callback, and whoever keeps some copies them.
import { Buffer } from 'node:buffer';

export const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);
