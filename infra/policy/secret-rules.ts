// Secrets never sit in plain state: no secret CAIRN_* setting in a ConfigMap or as a literal
// container env value; they come from a Secret.
import type { ManifestObject } from '../k8s/schemas';
import { describeObject, type Rule, type Violation } from './rule';
import { containersOf } from './workloads';

/** Settings holding credentials (a database URL carries its password). */
const SECRET_NAME = /(PASSWORD|SECRET|TOKEN|DATABASE_URL|DSN|CREDENTIAL|KEY)$/;

export const secretsNotInPlainState: Rule = {
  id: 'secrets-not-plain',
  description: 'Credentials (passwords, tokens, database URLs) come from Secrets, never ConfigMaps or literal env values.',
  check: (objects): Violation[] => {
    const out: Violation[] = [];
    for (const obj of objects) {
      if (obj.kind === 'ConfigMap') {
        for (const key of Object.keys((obj as { data?: object }).data ?? {}).filter((k) => SECRET_NAME.test(k))) {
          out.push({ rule: 'secrets-not-plain', object: describeObject(obj), message: `data.${key} looks like a credential: put it in a Secret` });
        }
      }
      for (const { container } of containersOf(obj)) {
        const env = ((container as { env?: { name: string; value?: string }[] }).env ?? []).filter((e) => e.value !== undefined && SECRET_NAME.test(e.name));
        for (const e of env) out.push({ rule: 'secrets-not-plain', object: describeObject(obj, container.name), message: `env ${e.name} is a literal value: use valueFrom.secretKeyRef` });
      }
    }
    return out;
  },
};

export const SECRET_RULES: readonly Rule[] = [secretsNotInPlainState];
