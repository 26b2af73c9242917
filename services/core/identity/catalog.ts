// The service catalog every token carries: this deployment's three services, each at the URL the
// caller reached us at. Ids are derived from the service type and interface so they are the same
// on every replica and every token (clients may cache them), as a real Keystone's stored ids are.
import { createHash } from 'node:crypto';

export interface CatalogEndpoint {
  id: string;
  interface: 'public' | 'internal' | 'admin';
  region: string;
  region_id: string;
  url: string;
}

export interface CatalogService {
  id: string;
  name: string;
  type: string;
  endpoints: CatalogEndpoint[];
}

const INTERFACES = ['public', 'internal', 'admin'] as const;

/** Services and the path each lives at; `{project}` is the scoped project's id. */
const SERVICES = [
  // The function API's catalog URL is the service root, without /v1: qinlingclient appends it.
  { name: 'qinling', type: 'function-engine', path: '/function' },
  { name: 'swift', type: 'object-store', path: '/v1/AUTH_{project}' },
  { name: 'keystone', type: 'identity', path: '/identity/v3' },
] as const;

function stableId(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32);
}

const IDS = new Map<string, string>(
  SERVICES.flatMap((s) => [[s.type, stableId('service', s.type)], ...INTERFACES.map((i) => [`${s.type}/${i}`, stableId('endpoint', s.type, i)] as [string, string])]),
);

/**
 * The catalog for a token scoped to `projectId`. Without a project (unscoped tokens, the endpoint
 * list) the object store URL keeps Keystone's `$(project_id)s` template.
 */
export function buildCatalog(baseUrl: string, region: string, projectId: string | undefined): CatalogService[] {
  const base = baseUrl.replace(/\/+$/, '');
  return SERVICES.map((s) => ({
    id: IDS.get(s.type) as string,
    name: s.name,
    type: s.type,
    endpoints: INTERFACES.map((i) => ({
      id: IDS.get(`${s.type}/${i}`) as string,
      interface: i,
      region,
      region_id: region,
      url: base + s.path.replace('{project}', projectId ?? '$(project_id)s'),
    })),
  }));
}
