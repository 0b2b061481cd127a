// A headless Chromium for tests that look at the Web UI as a person would: Debian's chromium
// (scripts/host-packages.sh --tests installs it), driven by playwright-core, which downloads no
// browser of its own. Screenshots go to .opsflow/test/screenshots/, kept with the test's output.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { PROJECT_ROOT } from '../../src/paths';

const CANDIDATES = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'];

/** The browser binary: OPSFLOW_CHROMIUM, else Debian's chromium; undefined when there is none. */
export function chromiumPath(): string | undefined {
  const given = process.env.OPSFLOW_CHROMIUM;
  if (given) return given;
  return CANDIDATES.find((p) => existsSync(p));
}

export async function launchChromium(executablePath: string): Promise<Browser> {
  // --no-sandbox: tests run as root in CI, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

export function screenshotPath(name: string): string {
  const dir = path.join(PROJECT_ROOT, '.opsflow', 'test', 'screenshots');
  mkdirSync(dir, { recursive: true });
  return path.join(dir, `${name}.png`);
}
