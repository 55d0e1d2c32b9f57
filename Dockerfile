# syntax=docker/dockerfile:1
# One image for every role: the API (default command), the upload worker
# (`node workers/upload-worker.ts`) and the variant worker (`node workers/variant-worker.ts`).
# Node 24 runs the TypeScript sources directly.

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim AS runtime
# ExifTool (exiftool-vendored, for location removal) runs on perl; slim images have perl-base only.
# jemalloc for the variant worker (docker-compose.yml preloads it there): glibc's allocator lets a
# long-running sharp process grow.
RUN apt-get update && apt-get install -y --no-install-recommends perl libjemalloc2 && rm -rf /var/lib/apt/lists/*
# NODE_OPTIONS carries the service's Node flags (SERVICE_NODE_FLAGS in scripts/lib/spawn.ts): a
# small young generation frees a streamed upload's Buffers as they go (see BENCHMARKS.md).
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=2 \
    HOST=0.0.0.0 \
    PORT=3000 \
    STAGING_DIR=/data/staging \
    DATA_DIR=/data/files
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
COPY workers ./workers
# The admin account CLI: docker compose run --rm api node scripts/create-admin.ts --username alice
COPY scripts/create-admin.ts ./scripts/create-admin.ts
# Renderings of images stored before them: docker compose run --rm api node scripts/backfill-variants.ts
COPY scripts/backfill-variants.ts ./scripts/backfill-variants.ts
# The staging directory must be shared by the API and the workers: mount one volume at /data.
RUN mkdir -p /data/staging /data/files && chown -R node:node /data
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:' + process.env.PORT + '/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
CMD ["node", "src/server.ts"]
