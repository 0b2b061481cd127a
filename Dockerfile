# The opsflow worker image used by docker-compose.temporal.yml.
# Node 24 (an LTS line; 20 is past its end of life): the same tests run on it in scripts/test-node24.sh.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
# The product's build type-checks the commands that start the local cloud against its package, so
# the package is built here; it stays in this stage and never reaches the image.
COPY packages/localcloud/package.json packages/localcloud/tsconfig.json ./packages/localcloud/
COPY packages/localcloud/src ./packages/localcloud/src
COPY src ./src
RUN npm ci && npm run build

# The worker's production dependencies only: no local cloud workspace, nor what only it uses
# (fastify). --ignore-scripts skips the root's `prepare` (a build, whose tools are dev-only);
# `npm rebuild` then runs the dependencies' own install scripts (ssh2's optional native crypto).
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --workspaces=false --ignore-scripts && npm rebuild --workspaces=false \
 && test ! -e node_modules/@opsflow/localcloud && test ! -e node_modules/fastify

FROM node:24-bookworm-slim
# Client tools the backup activities run on the worker (dumps reached by connection).
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates postgresql-client mariadb-client \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=deps /app/package.json ./
COPY --from=deps /app/node_modules ./node_modules
# The product's build only (dist/, not packages/localcloud/dist/).
COPY --from=build /app/dist ./dist
USER node
ENV NODE_ENV=production
# SIGTERM from `docker stop` lets running activities finish (shutdownGraceTime) before exit.
CMD ["node", "dist/worker.js"]
