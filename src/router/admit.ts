// Step 3 of the request path (design.md §Request path): may this app take a request right now?
// Pure: the table entry and the app's in-flight count in, an H code or nothing out.
import type { HCode } from './errors';
import type { AppEntry } from './table/route-table';

export function admit(entry: AppEntry, appInFlight: number, maxInFlightPerDyno: number): HCode | undefined {
  if (entry.app.maintenance) return 'H80';
  if (entry.routable.length === 0) return entry.allCrashed ? 'H10' : 'H14';
  // H11: shed at once, without touching a dyno, when the app's backlog is beyond what its dynos can take.
  if (appInFlight >= maxInFlightPerDyno * entry.routable.length) return 'H11';
  return undefined;
}
