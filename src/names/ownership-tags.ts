// How opsflow marks what it creates, so a retried or restarted step finds its own resource instead
// of making a second one, and destroyEnvironment finds everything an environment owns.

export interface Owner {
  workflowId: string;
  environment: string;
}

/** DigitalOcean tag names allow letters, digits, colons, dashes and underscores. */
const tagSafe = (value: string) => value.replace(/[^a-zA-Z0-9_:-]/g, '-').slice(0, 200);

export const workflowTag = (owner: Owner) => `opsflow:${tagSafe(owner.workflowId)}`;
export const environmentTag = (environment: string) => `opsflow-env:${tagSafe(environment)}`;
export const ownerTags = (owner: Owner) => [workflowTag(owner), environmentTag(owner.environment)];

/** For resources without tags (VPCs), the same mark goes in the description. */
export const ownerDescription = (owner: Owner) => `managed by opsflow; ${workflowTag(owner)} ${environmentTag(owner.environment)}`;
