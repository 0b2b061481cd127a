// Holds `nginx -t` on the front host open by construction: a FIFO in the folder the site includes
// makes every `nginx -t` (and only while it is there) block opening it until the gate is released.
// A traffic change runs `nginx -t` after writing the upstream file and before reloading, so a held
// change is inside its activity, with its file written, for as long as the test wants.
import type { SshConnection } from '../../src/integrations/ssh';
import { GATE_DIR, ok } from './canary-stage';
import { until } from './until';

const FIFO = `${GATE_DIR}/hold.conf`;
// Inside the droplet's own pid namespace: only its processes are seen. The nginx binary itself
// (its command line starts with its path): not the local cloud's shim client that runs it for an
// SSH command (`node …/shim-client.cjs nginx -t -q`), nor the shell that runs this pgrep.
const HELD = 'pgrep -f "^(/usr/sbin/)?nginx -t" >/dev/null';

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

/**
 * Lets every held `nginx -t` through and removes the gate. Opening the FIFO read-write never blocks
 * (a write-only open would wait for a reader: forever if the held `nginx -t` was just ended with
 * its SSH session) and wakes every reader blocked in its open; closing it gives them end of file.
 */
export async function releaseNginxGate(front: SshConnection): Promise<void> {
  await ok(front, 'if [ -p "$1" ]; then exec 3<>"$1"; rm -f "$1"; exec 3>&-; fi; rm -f "$1"', [FIFO]);
}
