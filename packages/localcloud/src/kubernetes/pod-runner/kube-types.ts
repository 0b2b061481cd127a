// The parts of core/v1 Pod, Node and Event the pod runner reads and writes (fields as the API names them).

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  ownerReferences?: { kind: string; name: string; controller?: boolean }[];
}

export interface HttpGetAction {
  path?: string;
  port: number | string;
  host?: string;
  scheme?: string;
  httpHeaders?: { name: string; value: string }[];
}

export interface Probe {
  httpGet?: HttpGetAction;
  tcpSocket?: { port: number | string; host?: string };
  exec?: { command?: string[] };
  grpc?: { port: number };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
  terminationGracePeriodSeconds?: number;
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}

export interface LifecycleHandler {
  exec?: { command?: string[] };
  sleep?: { seconds: number };
  httpGet?: HttpGetAction;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
  };
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}

interface KeyItems {
  items?: { key: string; path: string }[];
  optional?: boolean;
}

export interface Volume {
  name: string;
  configMap?: { name: string } & KeyItems;
  secret?: { secretName: string } & KeyItems;
  emptyDir?: Record<string, unknown>;
  projected?: {
    sources?: {
      serviceAccountToken?: { path: string; expirationSeconds?: number };
      configMap?: { name: string } & KeyItems;
      downwardAPI?: { items?: { path: string; fieldRef?: { fieldPath: string } }[] };
    }[];
  };
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: EnvVar[];
  volumeMounts?: VolumeMount[];
  ports?: ContainerPort[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: LifecycleHandler };
  restartPolicy?: string;
}

export interface PodCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastProbeTime?: string | null;
  lastTransitionTime?: string;
}

export interface ContainerState {
  waiting?: { reason: string; message?: string };
  running?: { startedAt: string };
  terminated?: { exitCode: number; reason: string; message?: string; startedAt?: string; finishedAt: string; containerID?: string };
}

export interface ContainerStatus {
  name: string;
  image: string;
  imageID: string;
  containerID?: string;
  ready: boolean;
  started: boolean;
  restartCount: number;
  state: ContainerState;
  lastState: ContainerState;
}

export interface PodStatus {
  phase?: string;
  conditions?: PodCondition[];
  podIP?: string;
  podIPs?: { ip: string }[];
  hostIP?: string;
  hostIPs?: { ip: string }[];
  startTime?: string;
  containerStatuses?: ContainerStatus[];
  initContainerStatuses?: ContainerStatus[];
  message?: string;
  reason?: string;
}

export interface Pod {
  metadata: ObjectMeta;
  spec: {
    nodeName?: string;
    containers: Container[];
    initContainers?: Container[];
    restartPolicy?: 'Always' | 'OnFailure' | 'Never';
    terminationGracePeriodSeconds?: number;
    readinessGates?: { conditionType: string }[];
    hostname?: string;
    volumes?: Volume[];
    serviceAccountName?: string;
    automountServiceAccountToken?: boolean;
  };
  status?: PodStatus;
}

export interface Node {
  metadata: ObjectMeta;
  status?: { addresses?: { type: string; address: string }[] };
}

export interface List<T> {
  metadata: { resourceVersion: string };
  items: T[];
}
