// What the pod runner and the program of a pod's container (pod-app.ts) agree on: its arguments and
// the line it prints once every port listens.

/** Printed on stdout once the app listens on every port (the runner then starts its probes). */
export const LISTENING_LINE = 'pod-app: listening';

export interface PodAppArguments {
  /** The pod's address. */
  address: string;
  /** TCP ports to listen on. */
  ports: number[];
  /** The container's image reference: its tag sets the behaviour (hosts/services/image.ts). */
  image: string;
  /** Shown in x-served-by: the pod's name. */
  name: string;
  /** `serve` (a server, until SIGTERM) or `complete` (a Job's or an init container: runs to completion). */
  mode: 'serve' | 'complete';
}

export function podAppArgv(args: PodAppArguments): string[] {
  return [
    `--address=${args.address}`,
    ...args.ports.map((p) => `--port=${p}`),
    `--image=${args.image}`,
    `--name=${args.name}`,
    `--mode=${args.mode}`,
  ];
}

export function parsePodAppArgv(argv: string[]): PodAppArguments {
  const parsed: PodAppArguments = { address: '', ports: [], image: '', name: '', mode: 'serve' };
  for (const arg of argv) {
    const eq = arg.indexOf('=');
    const [key, value] = eq === -1 ? [arg, ''] : [arg.slice(0, eq), arg.slice(eq + 1)];
    if (key === '--address') parsed.address = value;
    else if (key === '--port') parsed.ports.push(Number(value));
    else if (key === '--image') parsed.image = value;
    else if (key === '--name') parsed.name = value;
    else if (key === '--mode' && (value === 'serve' || value === 'complete')) parsed.mode = value;
    else if (key !== '--pod-dir') throw new Error(`unknown argument ${arg}`);
  }
  if (!parsed.address || !parsed.image) throw new Error('--address and --image are required');
  if (parsed.ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535))
    throw new Error(`a --port is not a TCP port: ${argv.join(' ')}`);
  return parsed;
}
