// Spaces for the local cloud: a real S3 server (MinIO, built by scripts/s3-server.sh) on a loopback
// port, whose objects live in dataDir and survive restarts, with an outage switch for fault tests.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MinioProcess } from './minio-process';
import { holdPort, type Blackhole } from './port-blackhole';

export interface SpacesServerOptions {
  /** A loopback address, e.g. 127.0.0.1. */
  address: string;
  port: number;
  dataDir: string;
  /** At least 3 characters (MinIO's rule). */
  accessKey: string;
  /** At least 8 characters (MinIO's rule). */
  secretKey: string;
  /** From resolveS3ServerBinary(). */
  binaryPath: string;
  /** How long start() waits for the S3 API to answer; 30 s unless given. */
  readyTimeoutMs?: number;
}

export class SpacesServer {
  readonly endpoint: string;
  /**
   * What clients should report. MinIO runs with no region configured, so it accepts SigV4 signed for
   * any region name (`us-east-1`, `fra1`, ...), as Spaces does; it reports buckets as `us-east-1`.
   */
  readonly region = 'us-east-1';
  private minio?: MinioProcess;
  private outage?: Blackhole;
  private homeDir?: string;
  // start, stop and setUnavailable each span several awaits; running them one at a time keeps a
  // fault test that flips the switch quickly from starting two servers on one port.
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: SpacesServerOptions) {
    if (opts.accessKey.length < 3) throw new Error('SpacesServer: accessKey must have at least 3 characters');
    if (opts.secretKey.length < 8) throw new Error('SpacesServer: secretKey must have at least 8 characters');
    this.endpoint = `http://${opts.address}:${opts.port}`;
  }

  /** Spawns the server and resolves once it answers S3 requests. Does nothing if already started. */
  start(): Promise<void> {
    return this.serially(async () => {
      if (this.minio || this.outage) return;
      mkdirSync(this.opts.dataDir, { recursive: true });
      this.homeDir = mkdtempSync(path.join(os.tmpdir(), 'opsflow-minio-home-'));
      this.minio = await this.spawn();
    });
  }

  /** Stops the server (or ends an outage); the data stays in dataDir for the next start(). */
  stop(): Promise<void> {
    return this.serially(async () => {
      await this.minio?.stop();
      await this.outage?.close();
      this.minio = undefined;
      this.outage = undefined;
      if (this.homeDir) rmSync(this.homeDir, { recursive: true, force: true });
      this.homeDir = undefined;
    });
  }

  /**
   * Fault: while true the server process is stopped and the port resets every connection; false
   * restarts it on the same port and dataDir, so everything stored before comes back.
   */
  setUnavailable(unavailable: boolean): Promise<void> {
    return this.serially(async () => {
      if (!this.minio && !this.outage) throw new Error('SpacesServer: setUnavailable() before start()');
      if (unavailable && this.minio) {
        await this.minio.stop();
        this.minio = undefined;
        this.outage = await holdPort(this.opts.address, this.opts.port);
      } else if (!unavailable && this.outage) {
        await this.outage.close();
        this.outage = undefined;
        this.minio = await this.spawn();
      }
    });
  }

  private spawn(): Promise<MinioProcess> {
    const { binaryPath, address, port, dataDir, accessKey, secretKey } = this.opts;
    return MinioProcess.start({
      binaryPath,
      address,
      port,
      dataDir,
      accessKey,
      secretKey,
      homeDir: this.homeDir as string,
      readyTimeoutMs: this.opts.readyTimeoutMs ?? 30_000,
    });
  }

  private serially<T>(step: () => Promise<T>): Promise<T> {
    const run = this.queue.then(step);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
