// A failoverSite input file read for `opsflow failover --input`: YAML or JSON, checked with the
// workflow's own parser, each problem after the file:line:col of its field. Secret references are
// kept as written (the worker resolves them); no value is read from them here.
import { parseDrDrillInput, type DrDrill } from './dr-drill';
import { parseFailbackSiteInput, type FailbackSite } from './failback';
import { failingSite, parseFailoverSiteInput, type FailoverSite } from './failover';
import { parseYamlFile } from './load';

/** The input file; with `site` (`--site`), that site is the one failed over from and the other one takes over. */
export function loadFailoverInput(file: string, site?: string): FailoverSite {
  return parseYamlFile(file, 'failoverSite input', (value) =>
    parseFailoverSiteInput(site === undefined ? value : failingSite(value, site)),
  );
}

export function loadFailbackInput(file: string): FailbackSite {
  return parseYamlFile(file, 'failbackSite input', parseFailbackSiteInput);
}

export function loadDrDrillInput(file: string): DrDrill {
  return parseYamlFile(file, 'drDrill input', parseDrDrillInput);
}
