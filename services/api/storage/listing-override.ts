// How a container listing row describes a static large object as assembled, Swift's way: the
// manifest is stored with `;swift_bytes=<total size>` appended to its Content-Type (Swift's SLO
// does exactly this) and, because the backend keeps only name, size, ETag and type per listing
// row, `;slo_etag=<etag>` too (Swift keeps that one in the row's hash). Listings read both out;
// every response strips them, and a client can never set them itself.
const OVERRIDE_PARAMS = new Set(['swift_bytes', 'slo_etag']);

export interface ListingOverride {
  /** The Content-Type without the override parameters. */
  contentType: string;
  /** Assembled size to list instead of the stored object's. */
  bytes?: number;
  /** The SLO ETag (unquoted) to list as `slo_etag`. */
  sloEtag?: string;
}

/** Splits the override parameters off a stored (or client-sent) Content-Type. */
export function splitListingOverride(contentType: string): ListingOverride {
  if (!contentType.includes(';')) return { contentType };
  const [base, ...params] = contentType.split(';');
  const kept: string[] = [];
  const out: ListingOverride = { contentType: '' };
  for (const p of params) {
    const eq = p.indexOf('=');
    const key = (eq === -1 ? p : p.slice(0, eq)).trim().toLowerCase();
    if (!OVERRIDE_PARAMS.has(key)) {
      kept.push(p);
      continue;
    }
    const value = eq === -1 ? '' : p.slice(eq + 1).trim();
    if (key === 'swift_bytes' && /^\d+$/.test(value)) out.bytes = Number(value);
    if (key === 'slo_etag' && /^[0-9a-f]{32}$/.test(value)) out.sloEtag = value;
  }
  out.contentType = [base, ...kept].join(';');
  return out;
}

/** The Content-Type to store for a manifest whose assembled object has `bytes` and `sloEtag`. */
export function withListingOverride(contentType: string, bytes: number, sloEtag: string): string {
  return `${splitListingOverride(contentType).contentType};swift_bytes=${bytes};slo_etag=${sloEtag}`;
}
