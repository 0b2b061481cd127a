// The small application the Kubernetes tests and the benchmark deploy: a Deployment of the
// simulated web app (its image tag is its version and behaviour) with a readiness probe on
// /health, and a Service in front of it on port 80, in namespace `shop`, as YAML for kubectl.

export interface ShopApp {
  name: string;
  tag: string;
  replicas: number;
  /** The readiness probe's period (default 1 s). */
  probePeriodSeconds?: number;
}

export function shopAppYaml({ name, tag, replicas, probePeriodSeconds = 1 }: ShopApp): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: shop }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      containers:
      - name: web
        image: registry.example/shop-web:${tag}
        ports: [{ containerPort: 8080 }]
        readinessProbe: { httpGet: { path: /health, port: 8080 }, periodSeconds: ${probePeriodSeconds} }
---
apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: shop }
spec:
  selector: { app: ${name} }
  ports: [{ port: 80, targetPort: 8080 }]
`;
}
