// Holds `nginx -t` on the front host open by construction: a FIFO in the folder the site includes
// makes every `nginx -t` (and only while it is there) block opening it until the gate is released.
// A traffic change runs `nginx -t` after writing the upstream file and before reloading, so a held
// change is inside its activity, with its file written, for as long as the test wants.
import type { SshConnection } from '../../src/integrations/ssh';
import { GATE_DIR, ok } from './canary-stage';
import { until } from './until';

const FIFO = `${GATE_DIR}/hold.conf`;
// Inside the droplet's own pid namespace: only its processes are seen.
const HELD = 'pgrep -f "^nginx -t" >/dev/null';

export async function armNginxGate(front: SshConnection): Promise<void> {
  await ok(front, 'rm -f "$1" && mkfifo -m 0644 "$1"', [FIFO]);
}

/** Resolves once an `nginx -t` is blocked at the gate. */
export async function nginxGateHeld(front: SshConnection, what: string, timeoutMs = 300_000): Promise<void> {
  await until(
    `an nginx -t held at the gate (${what})`,
    async () => ((await front.execScript(HELD, [], { timeoutMs: 30_000 })).exitCode === 0 ? true : undefined),
    timeoutMs,
  );
}

/** Lets every held `nginx -t` through (opening the FIFO for writing wakes its readers) and removes the gate. */
export async function releaseNginxGate(front: SshConnection): Promise<void> {
  await ok(front, `if ${HELD}; then exec 3>"$1"; fi; rm -f "$1"`, [FIFO]);
}
