// An environment name in any spec field: the same rule as names/environment-name.ts (what the
// workflows, the CLI and the ownership tags check), with dnsLabel's messages.
import { ENVIRONMENT_NAME } from '../names/environment-name';
import { dnsLabel } from './common';

export const environmentName = dnsLabel.refine((n) => ENVIRONMENT_NAME.test(n), 'must be at most 32 characters');
