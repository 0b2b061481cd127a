// One run of the MinIO server process: spawn it on a loopback port, wait until its S3 API answers,
// stop it. SpacesServer decides when; this file knows MinIO's flags and environment.
import { spawn, type ChildProcess } from 'node:child_process';

export interface MinioRunOptions {
  binaryPath: string;
  address: string;
  port: number;
  dataDir: string;
  accessKey: string;
  secretKey: string;
  /** MinIO writes ~/.minio and its certs folder here, never in the user's home or the data folder. */
  homeDir: string;
  readyTimeoutMs: number;
}

const OUTPUT_TAIL_CHARS = 8_000;
const STOP_GRACE_MS = 10_000;

export class MinioProcess {
  private outputTail = '';
  private readonly exited: Promise<void>;
  private readonly killOnExit = () => this.child.kill('SIGKILL');

  private constructor(private readonly child: ChildProcess) {
    const collect = (chunk: Buffer) => (this.outputTail = (this.outputTail + chunk.toString()).slice(-OUTPUT_TAIL_CHARS));
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    // A test runner that exits without stop() must not leave a server holding the port.
    process.once('exit', this.killOnExit);
  }

  static async start(opts: MinioRunOptions): Promise<MinioProcess> {
    const child = spawn(
      opts.binaryPath,
      ['server', '--address', `${opts.address}:${opts.port}`, '--certs-dir', `${opts.homeDir}/certs`, opts.dataDir],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        // Not the parent's environment: a stray MINIO_REGION or MINIO_* setting would change behaviour.
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: opts.homeDir,
          MINIO_ROOT_USER: opts.accessKey,
          MINIO_ROOT_PASSWORD: opts.secretKey,
          MINIO_BROWSER: 'off', // no web console on a second port
          MINIO_UPDATE: 'off', // never looks for a newer release
        },
      },
    );
    const run = new MinioProcess(child);
    try {
      await run.waitUntilAnswering(`http://${opts.address}:${opts.port}/`, opts.readyTimeoutMs);
    } catch (err) {
      await run.stop();
      throw err;
    }
    return run;
  }

  output(): string {
    return this.outputTail;
  }

  /** SIGTERM lets MinIO finish writes in flight; SIGKILL only if it has not exited in time. */
  async stop(): Promise<void> {
    process.off('exit', this.killOnExit);
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }

  // Ready means the S3 API itself answers: an anonymous ListBuckets gets S3's AccessDenied (403).
  // While MinIO is still initialising it answers 503 XMinioServerNotInitialized instead.
  private async waitUntilAnswering(url: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    for (;;) {
      if (exited) throw new Error(`MinIO exited before it was ready:\n${this.outputTail}`);
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
        const body = await res.text();
        if (res.status === 403 && body.includes('<Code>AccessDenied</Code>')) return;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) throw new Error(`MinIO did not answer S3 requests within ${timeoutMs} ms:\n${this.outputTail}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
