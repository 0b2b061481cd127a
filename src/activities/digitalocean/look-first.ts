// Whether a create step must first look for what it may already have made. Only an earlier attempt
// whose response was lost (a retry), or an earlier run of the same environment, can have made
// anything: a first attempt the workflow calls fresh has nothing to find and creates at once.
import { Context } from '@temporalio/activity';
import { DigitalOceanApiError } from '../../integrations/digitalocean/errors';

/** `fresh` is the workflow's word that no earlier run left anything of this environment. */
export const mustLookFirst = (input: { fresh?: boolean }): boolean => input.fresh !== true || Context.current().info.attempt > 1;

/** DigitalOcean's answer to a name already taken (VPC 422, volume 409): worth a look, then. */
export const nameTaken = (err: unknown): boolean => err instanceof DigitalOceanApiError && (err.status === 409 || err.status === 422);
