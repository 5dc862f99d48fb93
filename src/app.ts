import { Elysia } from 'elysia'
import type Redis from 'ioredis'
import type { Config } from './config'
import type { Database } from './db/client'
import type { Logger } from './logger'
import { healthModule } from './modules/health'
import { errorsPlugin } from './plugins/errors'
import { openapiPlugin } from './plugins/openapi'
import { requestContextPlugin } from './plugins/request-context'

/** Everything the HTTP app needs, built by `src/index.ts` (or a test) and passed in. */
export interface AppDeps {
	config: Config
	logger: Logger
	database: Database
	redis: Redis | null
	/** True once shutdown began. */
	isDraining?: () => boolean
}

export function createApp(deps: AppDeps) {
	const { config, logger, database, redis } = deps
	return new Elysia({
		// Bun's own cap answers an empty 413 before any hook runs, so it sits well above the real
		// limit, which the errors plugin enforces on Content-Length with a JSON 413. The cap still
		// bounds chunked bodies that declare no length.
		serve: { maxRequestBodySize: config.bodyLimitBytes * 16 },
	})
		.use(requestContextPlugin(logger))
		.use(errorsPlugin(logger, config.bodyLimitBytes))
		.use(openapiPlugin)
		.use(healthModule({ database, redis, isDraining: deps.isDraining ?? (() => false) }))
}

export type App = ReturnType<typeof createApp>
