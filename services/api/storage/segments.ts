// A large object read as one: an ObjectReader whose content is a list of segments (whole objects
// or byte ranges of them) concatenated, opened one at a time as the stream reaches them. object.ts
// serves it like any object (preconditions, ranges, multipart ranges). A segment that is gone or
// changed since the manifest was read breaks the response mid-body, never silently shortens it.
import { Readable } from 'node:stream';
import { CairnError } from '../../core/errors';
import type { ByteRange, ObjectBackend, ObjectInfo, ObjectReader } from '../../core/objectstore/backend';

export interface Segment {
  account: string;
  container: string;
  object: string;
  /** The bytes of the segment (or of its range) that belong to the large object. */
  length: number;
  /** Where in the segment those bytes start. */
  offset: number;
  /** When set, the segment must still have this ETag and size (SLO); DLO takes what is there. */
  expect?: { etag: string; bytes: number };
  /** Inline bytes (an SLO data segment): served from here, no object is opened. */
  data?: Buffer;
}

/** An ObjectReader over `segments`; `info` describes the assembled object. */
export function segmentedReader(backend: ObjectBackend, info: ObjectInfo, segments: Segment[], onClose: () => Promise<void> = async () => undefined): ObjectReader {
  return {
    info,
    stream: (range?: ByteRange) => Readable.from(concatenate(backend, segments, range ?? { start: 0, end: info.bytes - 1 }), { objectMode: false }),
    close: onClose,
  };
}

async function* concatenate(backend: ObjectBackend, segments: Segment[], range: ByteRange): AsyncGenerator<Buffer> {
  let pos = 0;
  for (const seg of segments) {
    const segStart = pos;
    const segEnd = pos + seg.length - 1;
    pos += seg.length;
    if (seg.length === 0 || segEnd < range.start) continue;
    if (segStart > range.end) break;
    const from = Math.max(range.start, segStart) - segStart + seg.offset;
    const to = Math.min(range.end, segEnd) - segStart + seg.offset;
    if (seg.data) {
      yield seg.data.subarray(from, to + 1);
      continue;
    }
    const reader = await backend.openObject(seg.account, seg.container, seg.object);
    const where = `${seg.container}/${seg.object}`;
    if (!reader) throw new CairnError('storage.segment_invalid', { segment: where });
    try {
      const changed = seg.expect ? reader.info.etag !== seg.expect.etag || reader.info.bytes !== seg.expect.bytes : reader.info.bytes < to + 1;
      if (changed) throw new CairnError('storage.segment_invalid', { segment: where });
      for await (const chunk of reader.stream({ start: from, end: to }) as AsyncIterable<Buffer>) yield chunk;
    } finally {
      await reader.close();
    }
  }
}

/** A reader over bytes held in memory (a manifest rendered in another form). */
export function bufferReader(info: ObjectInfo, data: Buffer, onClose: () => Promise<void>): ObjectReader {
  return {
    info: { ...info, bytes: data.length },
    stream: (range?: ByteRange) => Readable.from([data.subarray(range?.start ?? 0, (range?.end ?? data.length - 1) + 1)]),
    close: onClose,
  };
}

/** Reads a whole (small) object from a reader; the caller closes it. */
export async function readAll(reader: ObjectReader, max: number): Promise<Buffer> {
  if (reader.info.bytes > max) throw new CairnError('storage.slo_too_large', { max });
  if (reader.info.bytes === 0) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const c of reader.stream() as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}
