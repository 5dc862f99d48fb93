# syntax=docker/dockerfile:1
FROM oven/bun:1.4.5 AS deps
WORKDIR /app
COPY package.json bun.lock ./
# Baileys is installed with the patch package.json names (patchedDependencies).
COPY patches ./patches
# The lockfile lists the workspace packages, so a frozen install needs their manifests; their
# sources stay out, and --production skips them as dev dependencies of the server.
COPY packages/standin/package.json ./packages/standin/
COPY packages/client/package.json ./packages/client/
RUN bun install --frozen-lockfile --production

FROM oven/bun:1.4.5 AS runtime
WORKDIR /app
ENV NODE_ENV=production PORT=3000 DATA_DIR=/app/data
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY src ./src
COPY drizzle ./drizzle
# The dashboard's source: the api role bundles it (Bun.build, in memory) on the first request for
# a page. Building it here as well fails the image on a dashboard that does not build.
COPY web ./web
RUN bun run build:web
RUN mkdir -p /app/data && chown -R bun:bun /app/data
# Embedded mode keeps its database here: a container started without a volume still gets one.
VOLUME ["/app/data"]
USER bun
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
	CMD bun -e "fetch('http://127.0.0.1:' + (process.env.PORT ?? 3000) + '/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
CMD ["bun", "src/index.ts"]
