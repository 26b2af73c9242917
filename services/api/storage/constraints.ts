// Swift's constraints, checked before anything is read or written: the path decoded to account,
// container and object names (valid UTF-8, no NUL → 412; length limits → 400) and the metadata
// headers of writes (Swift's limits and texts → 400). /info advertises the same numbers.
import { CairnError } from '../../core/errors';
import { parseMetadataHeaders, type MetaKind, type MetadataLimits } from './metadata';
import type { Middleware, Target } from './pipeline';

/** Swift's default constraints (as its /info reports them). */
export const SWIFT_CONSTRAINTS = {
  max_file_size: 5368709122,
  max_meta_name_length: 128,
  max_meta_value_length: 256,
  max_meta_count: 90,
  max_meta_overall_size: 4096,
  max_header_size: 8192,
  max_object_name_length: 1024,
  container_listing_limit: 10000,
  account_listing_limit: 10000,
  max_account_name_length: 256,
  max_container_name_length: 256,
  extra_header_count: 0,
} as const;

export const METADATA_LIMITS: MetadataLimits = {
  maxNameLength: SWIFT_CONSTRAINTS.max_meta_name_length,
  maxValueLength: SWIFT_CONSTRAINTS.max_meta_value_length,
  maxCount: SWIFT_CONSTRAINTS.max_meta_count,
  maxOverallSize: SWIFT_CONSTRAINTS.max_meta_overall_size,
  maxHeaderSize: SWIFT_CONSTRAINTS.max_header_size,
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Percent-decodes a request path to bytes and then to text. Node hands the path over as latin1
 * (one char per byte), so raw UTF-8 and %-escapes decode alike. Malformed escapes stay literal,
 * as Python's unquote leaves them.
 */
export function decodePath(raw: string): string {
  const src = Buffer.from(raw, 'latin1');
  const out = Buffer.allocUnsafe(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const b = src[i];
    if (b === 0x25 && i + 2 < src.length && isHex(src[i + 1]) && isHex(src[i + 2])) {
      out[n++] = parseInt(String.fromCharCode(src[i + 1], src[i + 2]), 16);
      i += 2;
    } else out[n++] = b;
  }
  let text: string;
  try {
    text = utf8.decode(out.subarray(0, n));
  } catch {
    throw new CairnError('storage.invalid_name');
  }
  if (text.includes('\0')) throw new CairnError('storage.invalid_name');
  return text;
}

function isHex(b: number | undefined): boolean {
  return b !== undefined && ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66));
}

/** `/v1/<account>[/<container>[/<object>]]` → target; the object keeps its slashes. */
export function parseTarget(path: string): Target {
  const decoded = decodePath(path);
  if (!decoded.startsWith('/v1/')) throw new CairnError('storage.bad_path', { path: decoded });
  const rest = decoded.slice(4);
  const s1 = rest.indexOf('/');
  const account = s1 === -1 ? rest : rest.slice(0, s1);
  if (!account) throw new CairnError('storage.bad_path', { path: decoded });
  checkLength('Account', account, SWIFT_CONSTRAINTS.max_account_name_length);
  const afterAccount = s1 === -1 ? '' : rest.slice(s1 + 1);
  const s2 = afterAccount.indexOf('/');
  const container = s2 === -1 ? afterAccount : afterAccount.slice(0, s2);
  const object = s2 === -1 ? '' : afterAccount.slice(s2 + 1);
  if (!container) {
    if (object) throw new CairnError('storage.bad_path', { path: decoded });
    return { kind: 'account', account };
  }
  checkLength('Container', container, SWIFT_CONSTRAINTS.max_container_name_length);
  if (!object) return { kind: 'container', account, container };
  checkLength('Object', object, SWIFT_CONSTRAINTS.max_object_name_length);
  return { kind: 'object', account, container, object };
}

function checkLength(kind: string, name: string, max: number): void {
  const length = Buffer.byteLength(name, 'utf8');
  if (length > max) throw new CairnError('storage.name_too_long', { kind, length, max });
}

/** Methods that carry metadata for each kind of target. */
const META_METHODS: Record<MetaKind, ReadonlySet<string>> = {
  account: new Set(['POST', 'PUT']),
  container: new Set(['POST', 'PUT']),
  object: new Set(['POST', 'PUT', 'COPY']),
};

export function constraints(): Middleware {
  return {
    name: 'constraints',
    after: ['catch-errors'],
    async handle(req, next) {
      const { ctx } = req;
      if (ctx.path !== '/v1' && !ctx.path.startsWith('/v1/')) return next();
      const target = parseTarget(ctx.path);
      req.target = target;
      if (META_METHODS[target.kind].has(ctx.method)) req.meta = parseMetadataHeaders(ctx.req.headers, target.kind, METADATA_LIMITS);
      await next();
    },
  };
}
