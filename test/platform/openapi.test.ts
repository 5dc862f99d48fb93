import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { treaty } from '@elysiajs/eden'
import { FormatRegistry } from '@sinclair/typebox'
import type { App } from '../../src/app'
import { startTestApp, type TestApp } from '../helpers/app'
import { REPO_ROOT } from '../helpers/process'

/** The OpenAPI document at /swagger/json: valid 3.1 by `redocly lint`, and true to what the server answers. */

let app: TestApp
let doc: Document
beforeAll(async () => {
	app = await startTestApp({ ROLES: 'api' })
	doc = (await (await fetch(`${app.url}/swagger/json`)).json()) as Document
})
afterAll(() => app?.close())

interface Response {
	description: string
	content?: Record<string, { schema: { $ref?: string } }>
	headers?: Record<string, unknown>
}
interface Operation {
	operationId: string
	summary: string
	tags: string[]
	security?: Record<string, string[]>[]
	requestBody?: { content: Record<string, unknown> }
	responses: Record<string, Response>
	'x-websocket'?: { messages: { anyOf: unknown[] } }
}
interface Document {
	openapi: string
	tags: { name: string }[]
	paths: Record<string, Record<string, Operation>>
}

const operations = () =>
	Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ name: `${method} ${path}`, method, op })))

const ERROR_REF = '#/components/schemas/Error'
const errorSchemaOf = (response: Response | undefined) => response?.content?.['application/json']?.schema.$ref

/**
 * What `redocly lint` (recommended rules) may still warn about, and why each stays:
 * - info-license: the project has no licence to name.
 * - operation-2xx-response on GET /ws/sessions: a WebSocket upgrade answers 101, never a 2xx.
 */
const ACCEPTED_WARNINGS = [
	{ ruleId: 'info-license', pointer: '#/info' },
	{ ruleId: 'operation-2xx-response', pointer: '#/paths/~1ws~1sessions/get/responses' },
]

describe('the OpenAPI document', () => {
	it('passes redocly lint with the recommended rules: no error, and no warning but the accepted ones', async () => {
		const dir = mkdtempSync(join(tmpdir(), 'switchboard-openapi-'))
		try {
			const file = join(dir, 'openapi.json')
			writeFileSync(file, JSON.stringify(doc, null, 2))
			const cli = join(REPO_ROOT, 'node_modules/@redocly/cli/bin/cli.js')
			// Run by Bun, in a folder without a redocly.yaml; the variables keep it from calling home
			// (usage data, update check), so nothing leaves the machine.
			const lint = Bun.spawn([process.execPath, cli, 'lint', file, '--extends', 'recommended', '--format', 'json', '--max-problems', '1000'], {
				cwd: dir,
				env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_NOTIFICATIONS: 'true', NO_COLOR: '1' },
				stdout: 'pipe',
				stderr: 'pipe',
			})
			const [out, err] = await Promise.all([new Response(lint.stdout).text(), new Response(lint.stderr).text()])
			await lint.exited
			const report = JSON.parse(out.slice(out.indexOf('{'))) as {
				totals: { errors: number; warnings: number }
				problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[]
			}
			const problems = report.problems.map((p) => ({ ruleId: p.ruleId, severity: p.severity, pointer: p.location[0]?.pointer, message: p.message }))
			expect(
				problems.filter((p) => p.severity === 'error'),
				err,
			).toEqual([])
			expect(report.totals.errors).toBe(0)
			const warnings = problems.filter((p) => p.severity === 'warn').map(({ ruleId, pointer }) => ({ ruleId, pointer }))
			expect(warnings).toEqual(ACCEPTED_WARNINGS)
			expect(lint.exitCode).toBe(0)
		} finally {
			rmSync(dir, { recursive: true, force: true })
		}
	}, 60_000)

	it('gives every operation an id, a summary and declared tags, and says whether it needs a token', () => {
		const tags = new Set(doc.tags.map((t) => t.name))
		const ids = new Set<string>()
		for (const { name, method, op } of operations()) {
			expect(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'], name).toContain(method)
			expect(op.operationId, name).toMatch(/^[a-z][A-Za-z0-9]*$/)
			expect(ids.has(op.operationId), `${name}: duplicate operationId`).toBe(false)
			ids.add(op.operationId)
			expect(op.summary?.length, name).toBeGreaterThan(0)
			expect(op.tags?.length, name).toBeGreaterThan(0)
			for (const tag of op.tags) expect(tags.has(tag), `${name}: tag ${tag}`).toBe(true)
			expect(Array.isArray(op.security), `${name}: security`).toBe(true)
		}
		const open = operations()
			.filter(({ op }) => op.security!.length === 0)
			.map(({ name }) => name)
			.sort()
		expect(open).toEqual(
			[
				'get /health',
				'get /ready',
				'post /users',
				'post /users/{id}/verify',
				'post /auth/login',
				'post /auth/refresh',
				'post /auth/logout',
				'post /auth/resend-verification',
				'post /auth/password-reset',
				'post /auth/password-reset/confirm',
			].sort(),
		)
	})

	it('documents 400 on every operation, 401 on those that need a token, 403 and 429 on those an API key may call, 413 and 415 where a body may come, all with the Error model', () => {
		for (const { name, method, op } of operations()) {
			expect(errorSchemaOf(op.responses['400']), `${name} 400`).toBe(ERROR_REF)
			// A WebSocket without a valid credential is closed with 4401 after its upgrade.
			if (op.security!.some((requirement) => 'bearer' in requirement) && name !== 'get /ws/sessions')
				expect(errorSchemaOf(op.responses['401']), `${name} 401`).toBe(ERROR_REF)
			// A key without the route's scope is refused with 403 (the WebSocket closes with 4403 instead).
			if (op.security!.some((requirement) => 'apiKey' in requirement) && name !== 'get /ws/sessions')
				expect(errorSchemaOf(op.responses['403']), `${name} 403`).toBe(ERROR_REF)
			// Every body is JSON and only JSON, but the file upload's (below).
			if (op.requestBody && name !== 'post /media') expect(Object.keys(op.requestBody.content), name).toEqual(['application/json'])
			// A route without a body still reads one that is sent: too large, or not JSON, is refused.
			if (name !== 'post /media' && ['post', 'put', 'patch', 'delete'].includes(method)) {
				expect(errorSchemaOf(op.responses['413']), `${name} 413`).toBe(ERROR_REF)
				expect(errorSchemaOf(op.responses['415']), `${name} 415`).toBe(ERROR_REF)
			}
			// The per-key limit: every route a key may call answers 429 past it, saying when to try again.
			if (op.security!.some((requirement) => 'apiKey' in requirement) && name !== 'get /ws/sessions') {
				expect(errorSchemaOf(op.responses['429']), `${name} 429`).toBe(ERROR_REF)
				expect(op.responses['429']!.headers, `${name} 429`).toHaveProperty('Retry-After')
			}
			for (const [status, response] of Object.entries(op.responses)) {
				expect(response.description, `${name} ${status}`).not.toMatch(/^Response for status/)
				if (Number(status) >= 400) expect(errorSchemaOf(response), `${name} ${status}`).toBe(ERROR_REF)
				if (status === '204') expect(response.content, `${name} 204`).toBeUndefined()
			}
		}
	})

	it('describes the file upload: the raw file under any type, or multipart with a `file` field', () => {
		const upload = doc.paths['/media']!.post!
		expect(upload.requestBody).toMatchObject({
			required: true,
			content: {
				'*/*': { schema: { type: 'string', format: 'binary' } },
				'multipart/form-data': { schema: { type: 'object', required: ['file'], properties: { file: { type: 'string', format: 'binary' } } } },
			},
		})
	})

	it('describes a file download: its bytes in 200 and 206, with the headers a client resumes or caches by', () => {
		const download = doc.paths['/media/{id}']!.get!
		for (const status of ['200', '206']) {
			expect(download.responses[status]!.content as unknown, status).toEqual({ '*/*': { schema: { type: 'string', format: 'binary' } } })
			expect(download.responses[status]!.headers, status).toHaveProperty('ETag')
		}
		expect(download.responses['206']!.headers).toHaveProperty('Content-Range')
	})

	it('lets every schema that allows null take null, enums included, and fills in no required request field', () => {
		const problems: string[] = []
		const walk = (node: unknown, at: string) => {
			if (!node || typeof node !== 'object') return
			const schema = node as { type?: unknown; enum?: unknown[]; required?: string[]; properties?: Record<string, { default?: unknown }> }
			if (Array.isArray(schema.type) && schema.type.includes('null') && schema.enum && !schema.enum.includes(null))
				problems.push(`${at}: enum without null`)
			for (const [key, value] of Object.entries(node)) walk(value, `${at}/${key}`)
		}
		walk(doc, '#')
		// Elysia fills a default in before validating, so a required field with one is never missing:
		// a participants change without `action` added the people.
		type ObjectSchema = { $ref?: string; required?: string[]; properties?: Record<string, { default?: unknown }> }
		const schemas = (doc as unknown as { components: { schemas: Record<string, ObjectSchema> } }).components.schemas
		const resolved = (schema: ObjectSchema | undefined) => (schema?.$ref ? schemas[schema.$ref.split('/').at(-1)!] : schema)
		for (const { name, op } of operations()) {
			const body = resolved((op.requestBody?.content['application/json'] as { schema?: ObjectSchema } | undefined)?.schema)
			for (const field of body?.required ?? []) if (body?.properties?.[field]?.default !== undefined) problems.push(`${name}: ${field} has a default`)
		}
		expect(problems).toEqual([])
	})

	it('marks a body optional only where the route takes none (it reads as {}), and required where {} is refused', () => {
		const required = (path: string, method = 'post') => (doc.paths[path]![method]!.requestBody as { required?: boolean }).required
		expect(required('/sessions')).toBe(false)
		expect(required('/chats/{jid}/read')).toBe(false)
		expect(required('/auth/login')).toBe(true)
		expect(required('/chats/{jid}/messages')).toBe(true)
	})

	it('gives numbers as numbers, with their bounds: in query parameters and in models', () => {
		const limit = (doc.paths['/sessions']!.get! as unknown as { parameters: { name: string; schema: unknown }[] }).parameters.find(
			(p) => p.name === 'limit',
		)
		expect(limit?.schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 200, default: 50 })
		expect(JSON.stringify(doc)).not.toContain('"format":"integer"')
	})

	it("leaves Elysia's string format checks in place (the generator's main entry would swap in ~50x slower ones)", () => {
		for (const format of ['uuid', 'email', 'ipv4']) expect(String(FormatRegistry.Get(format)), format).toBe('(value) => formatValue.test(value)')
	})

	it('is OpenAPI 3.1 throughout: no 3.0 `nullable`, no fragment `$id`, the WebSocket as the GET that upgrades', () => {
		expect(doc.openapi).toStartWith('3.1.')
		const text = JSON.stringify(doc)
		expect(text).not.toContain('"nullable"')
		expect(text).not.toContain('"$id":"#')
		const socket = doc.paths['/ws/sessions']!.get!
		expect(Object.keys(socket.responses).sort()).toEqual(['101', '400', '426'])
		expect(socket.security).toEqual([
			{ bearer: [] },
			{ accessTokenQuery: [] },
			{ apiKey: ['sessions:read', 'messages:read'] },
			{ apiKeyHeader: ['sessions:read', 'messages:read'] },
		])
		expect(socket['x-websocket']?.messages.anyOf.length).toBeGreaterThan(2)
	})

	it('documents validation failures as the 400 VALIDATION_FAILED the server sends, and Eden types them so', async () => {
		const client = treaty<App>(app.url)
		const headers = { 'x-forwarded-for': '10.40.0.1' }
		const login = await client.auth.login.post({ email: 'not an email', password: 'x' }, { headers })
		expect(login.status).toBe(400)
		expect(login.error?.value).toMatchObject({ error: { code: 'VALIDATION_FAILED', message: expect.any(String), details: expect.any(Array) } })
		if (login.error?.status === 400) {
			// Typed as the Error model: this line does not compile against Elysia's 422 shape.
			const code: string = login.error.value.error.code
			expect(code).toBe('VALIDATION_FAILED')
		}
		// Elysia's types would add `422: { type: 'validation', … }`; the server never sends it.
		type LoginError = NonNullable<typeof login.error>
		const statuses: Same<LoginError['status'], 400 | 401 | 403 | 413 | 415 | 429> = true
		expect(statuses).toBe(true)
		const health = await client.health.get({ query: { probe: 'a\u0000b' } as never })
		expect(health.status).toBe(400)
		const healthStatuses: Same<NonNullable<typeof health.error>['status'], 400> = true
		expect(healthStatuses).toBe(true)
		// Statuses are numbers, as the server sends them: a response map spread from a shared constant would type them as strings.
		type OneSession = Awaited<ReturnType<ReturnType<typeof client.sessions>['get']>>
		const sessionStatuses: Same<NonNullable<OneSession['error']>['status'], 400 | 401 | 403 | 404> = true
		expect(sessionStatuses).toBe(true)
	})
})

/** `true` only when A and B are the same type. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
