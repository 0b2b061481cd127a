// Two local clouds at once on one machine, each in its own process, with droplets of the same ids
// running PostgreSQL (before clouds had their own uid blocks and nftables tables, such droplets
// were the same host users and shared one machine-wide table). Each cloud churns (initdb,
// createdb, a server removed with SIGKILL, a droplet made and destroyed) while the other's servers
// run, then one stops: the other loses no process and keeps its network policy. Everything waits
// on what the clouds report, never on time.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { promisify } from 'node:util';
import { HostNetworkClaim, HostNetworkInUse } from '../../src/hosts/isolation/network-claim';
import { policyTable } from '../../src/hosts/isolation/network-policy';
import { cloudUidRange } from '../../src/hosts/isolation/uid-range';
import { claimFreeHostNetwork } from '../../../../test/helpers/localcloud';

jest.setTimeout(240_000);

const run = promisify(execFile);
const FIXTURE = path.join(__dirname, '..', 'fixtures', 'cloud-process.ts');
const ROOT = path.join(__dirname, '..', '..', '..', '..');

interface Ready {
  pid: number;
  network: number;
  apiPort: number;
  droplets: { id: number; address: string; postgresPid: number }[];
}

interface CloudProcess {
  child: ChildProcess;
  ready: Ready;
  /** The next report the cloud writes. */
  next(): Promise<Record<string, unknown>>;
  send(line: string): void;
}

const started: CloudProcess[] = [];

async function startCloudProcess(): Promise<CloudProcess> {
  // A free network, let go just before the cloud takes it (another cloud may take it meanwhile: it is refused then, and this test fails loudly).
  const probe = await claimFreeHostNetwork();
  const network = probe.network;
  await probe.release();
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', FIXTURE, String(network)], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const reports: Record<string, unknown>[] = [];
  const waiting: ((report: Record<string, unknown>) => void)[] = [];
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    const report = JSON.parse(line) as Record<string, unknown>;
    const waiter = waiting.shift();
    if (waiter) waiter(report);
    else reports.push(report);
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`cloud process on network ${network} exited (${code})`))),
  );
  exited.catch(() => undefined);
  const next = () =>
    Promise.race([
      exited,
      new Promise<Record<string, unknown>>((resolve) => (reports.length > 0 ? resolve(reports.shift()!) : waiting.push(resolve))),
    ]);
  const cloud: CloudProcess = { child, ready: undefined as unknown as Ready, next, send: (line) => child.stdin!.write(line + '\n') };
  started.push(cloud);
  cloud.ready = (await next()) as unknown as Ready;
  return cloud;
}

/** Host uid of a process, and whether it still runs (a zombie has ended). */
function processInfo(pid: number): { alive: boolean; uid?: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { alive: !/^State:\s+Z/m.test(status), uid: Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]) };
  } catch {
    return { alive: false };
  }
}

function inBlock(uid: number | undefined, network: number): boolean {
  const block = cloudUidRange(network);
  return uid !== undefined && uid >= block.first && uid < block.end;
}

async function tableExists(network: number): Promise<boolean> {
  const [family, name] = policyTable(network).split(' ');
  return run('nft', ['list', 'table', family!, name!]).then(
    () => true,
    () => false,
  );
}

afterAll(async () => {
  for (const cloud of started) if (cloud.child.exitCode === null) cloud.child.kill('SIGKILL');
});

test('two local clouds with droplets of the same ids: disjoint users and tables, and neither loses a process to the other', async () => {
  const [a, b] = [await startCloudProcess(), await startCloudProcess()];
  // The same droplet ids in both clouds: the case that used to share host users.
  expect(b.ready.droplets.map((d) => d.id)).toEqual(a.ready.droplets.map((d) => d.id));
  expect(a.ready.network).not.toBe(b.ready.network);

  // Every server runs as a user of its own cloud's block, and the blocks do not meet.
  const before = { a: a.ready.droplets.map((d) => processInfo(d.postgresPid)), b: b.ready.droplets.map((d) => processInfo(d.postgresPid)) };
  expect(before.a.map((p) => p.alive && inBlock(p.uid, a.ready.network))).toEqual([true, true]);
  expect(before.b.map((p) => p.alive && inBlock(p.uid, b.ready.network))).toEqual([true, true]);
  expect(
    cloudUidRange(a.ready.network).end <= cloudUidRange(b.ready.network).first ||
      cloudUidRange(b.ready.network).end <= cloudUidRange(a.ready.network).first,
  ).toBe(true);
  // Each cloud has a table of its own.
  expect([await tableExists(a.ready.network), await tableExists(b.ready.network)]).toEqual([true, true]);

  // Both churn at once: every initdb, createdb and SIGKILLed server is its own cloud's business.
  a.send('churn');
  b.send('churn');
  const [churnA, churnB] = await Promise.all([a.next(), b.next()]);
  expect([churnA, churnB]).toEqual([
    { churned: 2, of: 2, destroyed: expect.any(Number) },
    { churned: 2, of: 2, destroyed: expect.any(Number) },
  ]);
  expect(churnB.destroyed).toBe(churnA.destroyed); // the same id made and destroyed in both
  const lostAfterChurn = [...a.ready.droplets, ...b.ready.droplets]
    .filter((d) => !processInfo(d.postgresPid).alive)
    .map((d) => d.postgresPid);
  expect(lostAfterChurn).toEqual([]);

  // B stops: its servers end (so a stop that reached across clouds would show), A's do not.
  b.send('stop');
  expect(await b.next()).toEqual({ stopped: true });
  expect(b.ready.droplets.filter((d) => processInfo(d.postgresPid).alive)).toEqual([]);
  expect(a.ready.droplets.filter((d) => !processInfo(d.postgresPid).alive)).toEqual([]);
  expect(a.ready.droplets.map((d) => processInfo(d.postgresPid).uid)).toEqual(before.a.map((p) => p.uid));
  // B removed its own table only; A's droplets still reach A's API and nothing else of the machine.
  expect([await tableExists(a.ready.network), await tableExists(b.ready.network)]).toEqual([true, false]);
  const machine = net.createServer((socket) => socket.end());
  await new Promise<void>((resolve) => machine.listen(0, '127.0.0.1', () => resolve()));
  try {
    a.send(`probe ${a.ready.apiPort}`);
    expect(await a.next()).toEqual({ probe: a.ready.apiPort, reached: true });
    const machinePort = (machine.address() as AddressInfo).port;
    a.send(`probe ${machinePort}`);
    expect(await a.next()).toEqual({ probe: machinePort, reached: false });
  } finally {
    machine.close();
  }

  // While A runs, its network is A's alone: a third cloud there is refused, naming A.
  const refused = await HostNetworkClaim.take(a.ready.network).then(
    async (claim) => {
      await claim.release();
      return undefined;
    },
    (error: unknown) => error,
  );
  expect(refused).toBeInstanceOf(HostNetworkInUse);
  expect((refused as Error).message).toContain(`in use by another local cloud on this machine (pid ${a.ready.pid})`);

  a.send('stop');
  expect(await a.next()).toEqual({ stopped: true });
  expect(a.ready.droplets.filter((d) => processInfo(d.postgresPid).alive)).toEqual([]);
  expect(await tableExists(a.ready.network)).toBe(false);
});

test('a cloud killed without stopping takes its processes along and leaves its table; the next cloud to start removes that table', async () => {
  const killed = await startCloudProcess();
  const exited = new Promise((resolve) => killed.child.once('exit', resolve));
  killed.child.kill('SIGKILL');
  await exited;
  // Its droplets' processes die with it (their namespaces' init dies with the cloud); the kernel
  // ends them, so this waits for that, boundedly, on what /proc says.
  for (let i = 0; killed.ready.droplets.some((d) => processInfo(d.postgresPid).alive); i++) {
    if (i === 300) throw new Error('droplet processes outlived their killed cloud');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(await tableExists(killed.ready.network)).toBe(true);

  const next = await startCloudProcess();
  expect(next.ready.network).not.toBe(killed.ready.network);
  expect([await tableExists(killed.ready.network), await tableExists(next.ready.network)]).toEqual([false, true]);
  next.send('stop');
  expect(await next.next()).toEqual({ stopped: true });
});
