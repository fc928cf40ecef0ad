# syntax=docker/dockerfile:1
# Multi-stage build of the sluice worker: build with dev dependencies, run with production ones
# only, as a non-root user, on Node 22 LTS.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY connectors ./connectors
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim AS runtime
# python3 lets python3.x functions run (pip install awslambdaric into the image to use them).
RUN apt-get update && apt-get install -y --no-install-recommends python3 tini \
    && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node package.json ./
COPY --chown=node:node config ./config
# The state store (async queue, API-created mappings) lives on a volume mounted here.
RUN mkdir -p /app/.sluice && chown node:node /app/.sluice
USER node
# The API listens on 127.0.0.1 by default; in a container bind it to 0.0.0.0 via the config
# (api.host) so the published port works.
EXPOSE 3001
ENTRYPOINT ["/usr/bin/tini", "--", "node", "dist/src/cli/main.js"]
CMD ["start", "--config", "/app/config/sluice.yaml"]
