# Two images from one file, built as the tutorial does:
#   docker build -t grpc-load-balancing/server:1 --target server -f Dockerfile .
#   docker build -t grpc-load-balancing/client:1 --target client -f Dockerfile .

# Node 24 (LTS until April 2028) in every stage: Node 20 reached its end of life in April 2026
# and distroless no longer publishes nodejs20. The code itself supports Node 20 and later
# (package.json engines); the tests run it on the machines' Node 20.

# Compile the TypeScript. Dev dependencies (typescript, @types/node) live only here.
FROM node:24.15.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: nothing we compile needs an install script, and none should run here.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY apps ./apps
COPY lib ./lib
RUN npx tsc -p tsconfig.build.json

# Production dependencies of the apps only. The runner's packages are production dependencies
# too (it runs from source), but the images never run it: dropping them leaves esbuild's
# native binary and a shell toolkit out of a shell-less image (29 MB -> 14 MB of node_modules).
# test/deploy checks that nothing the apps import is in this list.
FROM node:24.15.0-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
ARG RUNNER_ONLY_DEPS="zx marked yaml tsx"
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm pkg delete $(printf 'dependencies.%s ' $RUNNER_ONLY_DEPS) \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# What both images share: no shell, no package manager, Node 24 as uid 65532.
FROM gcr.io/distroless/nodejs24-debian12:nonroot AS runtime
WORKDIR /app
ENV NODE_ENV=production
# package.json says "type": "module": the compiled ESM loads as such without relying on
# Node's syntax detection.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The proto is read at run time, relative to the compiled apps/proto/load.js.
COPY apps/proto/demo/v1/greeter.proto ./dist/apps/proto/demo/v1/
# Numeric, so the kubelet can check runAsNonRoot against it.
USER 65532:65532

FROM runtime AS server
EXPOSE 50051
# Exec form: node is PID 1 and gets SIGTERM itself, which starts the graceful drain.
ENTRYPOINT ["/nodejs/bin/node", "dist/apps/server/main.js"]

FROM runtime AS client
ENTRYPOINT ["/nodejs/bin/node", "dist/apps/client/main.js"]
