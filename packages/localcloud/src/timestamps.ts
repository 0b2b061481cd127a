// Times as DigitalOcean writes them: whole seconds, UTC ("2014-11-14T16:29:21Z"). Clients depend on
// it: the Terraform provider finds a droplet snapshot by matching its created_at, parsed without
// fractions, to its action's started_at.
export function apiTimestamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z');
}
