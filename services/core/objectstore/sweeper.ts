// Runs the backend's crash-leftover sweep once at start-up and then periodically, in the
// background: a sweep never delays start-up or a request, and a failing one (database or upstream
// down) is logged and tried again at the next tick. Stopping waits for a sweep under way.
import type { ObjectBackend } from './backend';

/** Leftovers younger than this are never touched: far longer than any PUT's commit window. @default 1 hour */
export const SWEEP_GRACE_MS = 60 * 60 * 1000;
/** Time between sweeps. @default 1 hour */
export const SWEEP_INTERVAL_MS = 60 * 60 * 1000;

export interface Sweeper {
  /** The sweep under way (or the last one), for callers that must wait for it. */
  readonly current: Promise<void>;
  stop(): Promise<void>;
}

export function startSweeper(
  backend: ObjectBackend,
  opts: { graceMs?: number; intervalMs?: number; log?: (line: string) => void } = {},
): Sweeper {
  const graceMs = opts.graceMs ?? SWEEP_GRACE_MS;
  const log = opts.log ?? ((line: string) => console.error(line));
  let current: Promise<void> = Promise.resolve();
  let running = false;
  let stopped = false;
  const run = (): void => {
    if (running || stopped || !backend.sweep) return;
    running = true;
    current = backend
      .sweep({ graceMs })
      .then(
        (r) => {
          if (r.removed.length || r.abortedUploads.length) {
            log(`[objectstore] sweep (${backend.kind}): removed ${r.removed.length} leftover blob(s), aborted ${r.abortedUploads.length} unfinished upload(s)`);
          }
        },
        (err: Error) => log(`[objectstore] sweep (${backend.kind}) failed, retrying at the next tick: ${err.message}`),
      )
      .finally(() => {
        running = false;
      });
  };
  run();
  const timer = setInterval(run, opts.intervalMs ?? SWEEP_INTERVAL_MS);
  timer.unref();
  return {
    get current() {
      return current;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await current;
    },
  };
}
