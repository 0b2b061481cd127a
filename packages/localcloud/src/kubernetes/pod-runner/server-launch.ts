// What a database image's container runs in the pod's sandbox (pod-servers.ts, pod-mariadb.ts,
// pod-rabbitmq.ts): the command, its environment, and how it says it serves.
import type { Container } from './kube-types';

export interface ServerLaunch {
  command: string[];
  env: Record<string, string>;
  /** Files of the machine the server needs inside the sandbox (a binary outside /usr), mounted read-only. */
  mounts?: { source: string; target: string }[];
  /** Printed on stdout once it serves, where the server says so there. */
  readyLine?: string;
}

/** The pod a server runs in: servers that register on the machine (RabbitMQ's node name) need a name of its own. */
export interface ServerPod {
  /** The pod's Kubernetes uid. */
  uid: string;
}

/** A container's settings that the server cannot run with: the pod shows CreateContainerError with this. */
export class ServerSettingsError extends Error {}

/** The container's port for the server: the one declared as `standard`, else its first TCP port, else `standard`. */
export function serverPort(container: Container, standard: number): number {
  const tcp = (container.ports ?? []).filter((p) => (p.protocol ?? 'TCP') === 'TCP');
  return (tcp.find((p) => p.containerPort === standard) ?? tcp[0])?.containerPort ?? standard;
}
