// Request bodies are read with a hard cap: the cap is checked against Content-Length before
// reading and against the bytes actually received, so a lying or chunked client gets 413 too.
import type { IncomingMessage } from 'node:http';
import { CairnError } from '../../core/errors';

export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw new CairnError('request.body_too_large', { limit });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      throw new CairnError('request.body_too_large', { limit });
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

/** Parses a JSON object body; an empty body is `{}`. */
export async function readJsonObject(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  return parseJsonObject(await readBody(req, limit));
}

/** A JSON object from raw bytes (empty is `{}`); anything else is a 400 naming the problem. */
export function parseJsonObject(raw: Buffer): Record<string, unknown> {
  if (raw.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new CairnError('request.bad_json', { reason: (err as Error).message });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CairnError('request.bad_json', { reason: 'expected a JSON object' });
  }
  return value as Record<string, unknown>;
}

export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}
