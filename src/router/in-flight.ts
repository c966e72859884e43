// The per-app in-flight count behind H11 (design.md §Request path, step 3), for what holds a slot longer than one
// call: an upgrade holds one from admission until its pipe closes. handle.ts counts plain requests
// inline (no closure per request on the hot path); both use the same map.

/** Takes one slot of `app`; the returned release gives it back once, however often it is called. */
export function holdAppSlot(inFlight: Map<string, number>, app: string): () => void {
  inFlight.set(app, (inFlight.get(app) ?? 0) + 1);
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    const n = (inFlight.get(app) ?? 1) - 1;
    if (n <= 0) inFlight.delete(app);
    else inFlight.set(app, n);
  };
}
