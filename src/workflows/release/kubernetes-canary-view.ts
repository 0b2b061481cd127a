// What the `status` query and the Web UI show of a canary on Kubernetes: the cluster and objects,
// the canary Deployment's replicas ready, and where each side is (the weights are the view's own).

export interface KubernetesCanaryView {
  /** The cluster as the spec names it, and its id once found. */
  cluster: string;
  clusterId?: string;
  namespace: string;
  /** The HTTPRoute, or with canaryIngress the main Ingress. */
  route: string;
  /** traffic.ingressCanary: the canary Ingress opsflow makes beside the main one. */
  canaryIngress?: string;
  stableService: string;
  canaryService: string;
  stableDeployment?: string;
  stableReplicas?: number;
  /** After promotion: the stable Deployment's replicas available on the new images. */
  stableReadyReplicas?: number;
  stable: 'serving' | 'updating' | 'updated';
  canaryDeployment?: string;
  /** A blue-green rollout's preview: `canary*` then name the preview Deployment and Service. */
  track?: 'preview';
  /** The canary Deployment's size (canary.maxSurge against the stable Deployment's replicas). */
  canaryReplicas?: number;
  /** Replicas of the canary Deployment available, as last read (0 once removed). */
  canaryReadyReplicas?: number;
  canary: 'planned' | 'deploying' | 'serving' | 'removing' | 'removed';
  /** When the canary, with no weight left, is deleted (scaleDownDelay after its last request could arrive). */
  canaryRemovedAfter?: string;
  /** In the result: the objects deleted at the end. */
  removed?: string[];
}
