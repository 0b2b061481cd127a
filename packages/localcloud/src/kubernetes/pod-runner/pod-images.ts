// Which images a pod's container can run here, and how one that cannot shows in the pod's status:
// as the kubelet shows it, a waiting reason and a message naming the image, never a Ready pod.
//   an application image (anything the droplets' docker would run as the simulated app) runs;
//   a tag saying `missing` is not in the registry: ErrImagePull, then ImagePullBackOff;
//   a reference that does not parse: InvalidImageName;
//   a PostgreSQL, Redis, MariaDB/MySQL or RabbitMQ image runs the machine's real server
//   (pod-servers.ts, pod-mariadb.ts, pod-rabbitmq.ts).
import { imageDigest, imageExists, imageKind, parseImage, type ImageRef } from '../../hosts/services/image';

/** What runs in the container: the simulated application, a real database server, or Prometheus. */
export type ContainerProgram = 'app' | 'postgres' | 'redis' | 'mariadb' | 'rabbitmq' | 'prometheus';

/** Images run as the machine's own server that droplets run as the app (imageKind does not know them). */
const POD_SERVERS: Record<string, ContainerProgram> = {
  // prom/prometheus, quay.io/prometheus/prometheus: the plane's Prometheus.
  prometheus: 'prometheus',
  // rabbitmq:3.13, rabbitmq:3-management: a RabbitMQ node (the management plugin not started).
  rabbitmq: 'rabbitmq',
};

export type ImageVerdict =
  { runnable: true; image: ImageRef; imageID: string; program: ContainerProgram } | { runnable: false; reason: string; message: string };

export function judgeImage(reference: string): ImageVerdict {
  let image: ImageRef;
  try {
    image = parseImage(reference);
  } catch {
    return {
      runnable: false,
      reason: 'InvalidImageName',
      message: `Failed to apply default image tag "${reference}": couldn't parse image name "${reference}": invalid reference format`,
    };
  }
  if (!imageExists(image))
    return {
      runnable: false,
      reason: 'ErrImagePull',
      message: `failed to pull and unpack image "${reference}": failed to resolve reference "${reference}": ${reference}: not found`,
    };
  const program = POD_SERVERS[image.repository.split('/').pop()!] ?? imageKind(image);
  return { runnable: true, image, imageID: `${image.repository}@${imageDigest(image)}`, program };
}

/** What an image that is not in the registry shows after its first failed pull. */
export function pullBackOff(reference: string, pullMessage: string): { reason: string; message: string } {
  return { reason: 'ImagePullBackOff', message: `Back-off pulling image "${reference}": ErrImagePull: ${pullMessage}` };
}
