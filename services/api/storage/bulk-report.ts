// The report Swift's bulk operations (bulk delete, extract archive, SLO delete) answer with: the
// status line is always 200 and goes out before the work; whitespace keeps a long request alive;
// the outcome is a body of counters, a `Response Status`, a `Response Body` and the failures, as
// plain `Key: value` lines, JSON or XML (`<delete>`/`<extract>`), whichever `Accept` prefers.
import type { ServerResponse } from 'node:http';

export type ReportFormat = 'text/plain' | 'application/json' | 'application/xml' | 'text/xml';

const FORMATS: readonly ReportFormat[] = ['text/plain', 'application/json', 'application/xml', 'text/xml'];

/** Swift's `Accept` negotiation over FORMATS (highest q wins, ties go to the earlier entry); no Accept → text/plain; nothing acceptable → undefined. */
export function reportFormat(accept: string | undefined): ReportFormat | undefined {
  if (!accept || !accept.trim()) return 'text/plain';
  let best: { format: ReportFormat; q: number; order: number } | undefined;
  for (const part of accept.split(',')) {
    const [range, ...params] = part.trim().split(';').map((s) => s.trim());
    if (!range) continue;
    const qParam = params.find((p) => p.toLowerCase().startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!Number.isFinite(q) || q <= 0) continue;
    const [type, sub] = range.toLowerCase().split('/');
    FORMATS.forEach((format, order) => {
      const [ft, fs] = format.split('/');
      if ((type === '*' || type === ft) && (sub === '*' || sub === fs)) {
        if (!best || q > best.q || (q === best.q && order < best.order)) best = { format, q, order };
      }
    });
  }
  return best?.format;
}

/** `[label, "409 Conflict"]` per failed item. */
export type ReportErrors = [string, string][];

/** The body; `fields` are written in the given order (Swift's bulk middleware sorts them by key). */
export function renderBulkReport(format: ReportFormat | undefined, fields: [string, string | number][], errors: ReportErrors, rootTag: 'delete' | 'extract' | 'upload'): string {
  if (format === 'application/json') return JSON.stringify({ ...Object.fromEntries(fields), Errors: errors });
  if (format === 'application/xml' || format === 'text/xml') {
    const out = [`<${rootTag}>\n`];
    for (const [k, v] of fields) {
      const tag = k.replace(/ /g, '_').toLowerCase();
      out.push(`<${tag}>${escapeXml(String(v))}</${tag}>\n`);
    }
    out.push('<errors>\n');
    for (const [name, status] of errors) out.push(`<object><name>${escapeXml(name)}</name><status>${escapeXml(status)}</status></object>\n`);
    out.push(`</errors>\n</${rootTag}>\n`);
    return out.join('');
  }
  const lines = fields.map(([k, v]) => `${k}: ${v}`);
  lines.push('Errors:');
  for (const [name, status] of errors) lines.push(`${name}, ${status}`);
  return `${lines.join('\n')}\n`;
}

/** Python's `quote(path)`: every byte but unreserved characters and `/` %-encoded. */
export function quotePath(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9_.\-~/]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function escapeXml(s: string): string {
  return s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c] as string);
}

/**
 * A 200 whose body comes at the end: `start` sends the status line, a keep-alive write goes out
 * every `everyMs` (for XML the declaration first, so the document stays well-formed, then spaces),
 * `finish` writes the report (after a blank line once anything was written, as Swift does).
 */
export class BulkResponse {
  private timer?: NodeJS.Timeout;
  private wrote = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly format: ReportFormat | undefined,
  ) {}

  start(everyMs: number): void {
    const headers: Record<string, string> = {};
    if (this.format) headers['Content-Type'] = this.format;
    this.res.writeHead(200, headers);
    this.timer = setInterval(() => this.keepalive(), everyMs);
  }

  private keepalive(): void {
    if (this.res.destroyed) return;
    const xml = this.format === 'application/xml' || this.format === 'text/xml';
    this.res.write(!this.wrote && xml ? '<?xml version="1.0" encoding="UTF-8"?>\n' : ' ');
    this.wrote = true;
  }

  /** Stops the keep-alive writes (finish does it too). */
  stop(): void {
    clearInterval(this.timer);
  }

  finish(body: string): void {
    this.stop();
    this.res.end((this.wrote ? '\r\n\r\n' : '') + body);
  }
}
