# The opsflow worker image used by docker-compose.temporal.yml.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm ci && npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
# Client tools the backup activities run on the worker (dumps reached by connection).
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates postgresql-client mariadb-client \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
ENV NODE_ENV=production
# SIGTERM from `docker stop` lets running activities finish (shutdownGraceTime) before exit.
CMD ["node", "dist/worker.js"]
