// Issue 11, item 7: `opsflow localcloud start` prints where its token is, never the token (its
// output is a log file under `opsflow up`), and keeps the state folder private: .opsflow and its
// localcloud folder 0700, the token and endpoint files 0600, even where the folders did not exist.
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../../src/paths';
import { exitOf, freePort } from '../../../test/helpers/processes';
import { tempDir } from '../../../test/helpers/temp';

const mode = (file: string) => (statSync(file).mode & 0o777).toString(8);

test("the token is never printed, and what holds it is the user's alone", async () => {
  const stateDir = path.join(tempDir('localcloud-start'), 'fresh', '.opsflow');
  const [port, sshPort] = [await freePort(), await freePort()];
  const env = { ...process.env, OPSFLOW_STATE_DIR: stateDir, OPSFLOW_LOCALCLOUD_HOST_NETWORK: '96' };
  const child = spawn(
    process.execPath,
    [
      '--require',
      'tsx/cjs',
      path.join(PROJECT_ROOT, 'src/client/cli.ts'),
      'localcloud',
      'start',
      '--port',
      String(port),
      '--ssh-port',
      String(sshPort),
      '--no-spaces',
    ],
    { cwd: PROJECT_ROOT, env },
  );
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  try {
    // Its last line of the start-up banner, whatever the machine's speed.
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', () => output.includes('Use it:') && resolve());
      child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${output}`)));
    });
    const localcloud = path.join(stateDir, 'localcloud');
    const token = readFileSync(path.join(localcloud, 'token'), 'utf8').trim();
    expect(token).toMatch(/^dop_v1_/);
    expect(output).not.toContain(token);
    expect(output).toContain(`Token:           in ${localcloud}/token`);
    expect({
      stateDir: mode(stateDir),
      localcloud: mode(localcloud),
      token: mode(path.join(localcloud, 'token')),
      endpoint: mode(path.join(localcloud, 'endpoint.json')),
    }).toEqual({ stateDir: '700', localcloud: '700', token: '600', endpoint: '600' });
  } finally {
    child.kill('SIGINT');
    await exitOf(child);
  }
  expect(output).toContain('Local cloud stopped.');
});
