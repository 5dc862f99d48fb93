import { Elysia, t } from 'elysia'
import type { Database } from '../../db/client'
import type { RedisClient } from '../../lib/redis-client'
import { errorBody } from '../../plugins/errors'
import { errorModel, errorResponses } from '../../plugins/error-model'
import { withTimeout } from '../../lib/timeout'

export interface HealthDeps {
	database: Database
	redis: RedisClient | null
	/** True once shutdown began: readiness fails so load balancers stop sending traffic. */
	isDraining: () => boolean
	/** Roles of this process whose Worker is not running (starting, or crashed and restarting). */
	rolesDown?: () => string[]
}

type CheckState = 'up' | 'down' | 'disabled'
const CHECK_TIMEOUT_MS = 1_000

async function check(probe: () => Promise<unknown>, what: string): Promise<CheckState> {
	try {
		await withTimeout(probe(), CHECK_TIMEOUT_MS, what)
		return 'up'
	} catch {
		return 'down'
	}
}

const Checks = t.Object({
	database: t.Union([t.Literal('up'), t.Literal('down')]),
	redis: t.Union([t.Literal('up'), t.Literal('down'), t.Literal('disabled')]),
})

export const healthModule = ({ database, redis, isDraining, rolesDown }: HealthDeps) =>
	new Elysia({ name: 'health', tags: ['health'] })
		.use(errorModel)
		.get('/health', () => ({ status: 'ok' as const }), {
			response: { 200: t.Object({ status: t.Literal('ok') }), 400: 'Error' },
			detail: { summary: 'Liveness: the process answers', tags: ['health'], security: [] },
		})
		.get(
			'/ready',
			async ({ status }) => {
				const [db, rd] = await Promise.all([
					check(() => database.ping(), 'database'),
					redis ? check(() => redis.ping(), 'redis') : Promise.resolve<CheckState>('disabled'),
				])
				const checks = { database: db === 'up' ? ('up' as const) : ('down' as const), redis: rd }
				const problems = Object.entries(checks).flatMap(([name, state]) => (state === 'down' ? [`${name} is down`] : []))
				// A role that crash-loops leaves the process answering with nothing behind it (no sessions held, no events stored).
				for (const role of rolesDown?.() ?? []) problems.push(`the ${role} role is not running`)
				if (isDraining()) problems.push('shutting down')
				if (problems.length === 0) return { status: 'ready' as const, checks }
				return status(503, errorBody('NOT_READY', `Not ready: ${problems.join('; ')}`, checks))
			},
			{
				response: { 200: t.Object({ status: t.Literal('ready'), checks: Checks }), ...errorResponses(400, 503) },
				detail: {
					summary: "Readiness: the database and Redis (when configured) answer, and this process's roles run",
					tags: ['health'],
					security: [],
				},
			},
		)
