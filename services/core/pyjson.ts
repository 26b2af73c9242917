/**
 * JSON text as Python's `json.dumps` writes it with default arguments (`", "` and `": "`
 * separators, non-ASCII escaped). Qinling stored inputs and results this way, and users and
 * scripts compare against that text.
 */
export function pythonJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${asciiString(k)}: ${pythonJson(v)}`)
      .join(', ')}}`;
  }
  if (typeof value === 'string') return asciiString(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number' && !Number.isFinite(value)) return value > 0 ? 'Infinity' : Number.isNaN(value) ? 'NaN' : '-Infinity';
  return JSON.stringify(value);
}

function asciiString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
