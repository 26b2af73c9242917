// Swift orders versions of a name by timestamp, so two writes in the same millisecond must still get
// distinct, increasing times: microseconds from the wall clock, bumped past the last one handed out.
import type { TimestampMicros } from './backend';

let last = 0;

/** The current time in microseconds since the epoch, strictly increasing within this process. */
export function nowMicros(): TimestampMicros {
  const wall = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  last = wall > last ? wall : last + 1;
  return last;
}
