// Units as types: chart props never take a bare number for CPU or memory. Memory uses cdk8s's
// Size; CPU has no type in cdk8s core (cdk8s-plus has one, see model-object.ts for why it is
// not used), so this file holds it.
import { Size } from 'cdk8s';

export { Size };

/** An amount of CPU, kept in millicores as Kubernetes quantities express it. */
export class Cpu {
  /** @param millis thousandths of a core, an integer ≥ 1 */
  static millis(millis: number): Cpu {
    if (!Number.isInteger(millis) || millis < 1) throw new Error(`Cpu.millis(${millis}): expected an integer ≥ 1`);
    return new Cpu(millis);
  }

  static cores(cores: number): Cpu {
    return Cpu.millis(Math.round(cores * 1000));
  }

  private constructor(readonly millicores: number) {}

  /** The Kubernetes quantity, e.g. `250m`. */
  toQuantity(): string {
    return `${this.millicores}m`;
  }
}

/** A request and a limit for one resource. */
export interface Bounds<T> {
  request: T;
  limit: T;
}

/** Requests and limits of one container. Every Cairn container has both. */
export interface ContainerResources {
  cpu: Bounds<Cpu>;
  memory: Bounds<Size>;
}

/** The Kubernetes quantity of a Size, in whole mebibytes (`256Mi`). */
export function memoryQuantity(size: Size): string {
  return `${size.toMebibytes()}Mi`;
}

/** `resources:` of a container spec. */
export function resourceRequirements(r: ContainerResources): { requests: Record<string, string>; limits: Record<string, string> } {
  if (r.cpu.request.millicores > r.cpu.limit.millicores) throw new Error(`cpu request ${r.cpu.request.toQuantity()} is above its limit ${r.cpu.limit.toQuantity()}`);
  if (r.memory.request.toMebibytes() > r.memory.limit.toMebibytes()) throw new Error(`memory request ${memoryQuantity(r.memory.request)} is above its limit ${memoryQuantity(r.memory.limit)}`);
  return {
    requests: { cpu: r.cpu.request.toQuantity(), memory: memoryQuantity(r.memory.request) },
    limits: { cpu: r.cpu.limit.toQuantity(), memory: memoryQuantity(r.memory.limit) },
  };
}
