// Cloud endpoints (the DigitalOcean API, Spaces) carry the account's token and keys: they must be
// https, except on this machine's loopback (the local cloud, tests). Pure: workflows use it too.
import { z } from 'zod';

/** localhost, 127.0.0.0/8 or ::1, as a URL's hostname spells them. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost') || host === '::1' || host === '0:0:0:0:0:0:0:1') return true;
  const octets = host.split('.');
  return octets.length === 4 && octets[0] === '127' && octets.every((o) => /^\d{1,3}$/.test(o) && Number(o) <= 255);
}

/** Why a cloud endpoint URL is refused, or undefined when it is fine. */
export function endpointProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be a URL such as https://api.digitalocean.com';
  }
  if (parsed.protocol === 'https:') return undefined;
  if (parsed.protocol === 'http:')
    return isLoopbackHost(parsed.hostname)
      ? undefined
      : `must use https (http is allowed only for 127.0.0.0/8, ::1 and localhost, not ${parsed.hostname})`;
  return `must be an https URL, not ${parsed.protocol}`;
}

/** A cloud endpoint: https, or http on loopback only. */
export const cloudEndpoint = z.string().superRefine((url, ctx) => {
  const problem = endpointProblem(url);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
