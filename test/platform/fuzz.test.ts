import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import postgres from 'postgres'
import { api, createVerifiedUser, type LoggedInUser, randomIp } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'

/**
 * Every operation of the OpenAPI document, fed malformed, oversized, wrongly typed and
 * non-Unicode input: the server must never answer 5xx, and every 4xx must be the JSON error body
 * with a code. Inputs come from a seeded generator, so a failure names a request that can be
 * replayed.
 */

type Operation = { parameters?: { in: string; name: string }[]; requestBody?: { content?: Record<string, { schema?: Schema }> } }
type Schema = { $ref?: string; type?: string | string[]; properties?: Record<string, Schema>; anyOf?: Schema[] }
type Doc = { paths: Record<string, Record<string, Operation>>; components?: { schemas?: Record<string, Schema> } }

const LIMIT = 16_384
let app: TestApp
let alice: LoggedInUser
let sessionId: string
let doc: Doc

beforeAll(async () => {
	// No session limit to stop the bodies that would create sessions from reaching the database.
	app = await startTestApp({ BODY_LIMIT_BYTES: String(LIMIT), MAX_SESSIONS_PER_TENANT: '100000' })
	// /ready answers 503 until the role Workers are: fuzzed before, it would be right to.
	await app.server.roles.ready
	alice = await createVerifiedUser(app)
	sessionId = ((await (await api(app).post('/sessions', { name: 'fuzzed' }, alice.headers)).json()) as { id: string }).id
	// Connected, so sends get as far as the outbox instead of stopping at 409.
	const sql = postgres(app.database.url, { max: 1, onnotice: () => {} })
	await sql`update sessions set status = 'connected' where id = ${sessionId}`
	await sql.end()
	doc = (await (await api(app).get('/swagger/json')).json()) as Doc
})
afterAll(() => app.close())

function random(seed: number) {
	let a = seed >>> 0
	const next = () => {
		a = (a + 0x6d2b79f5) >>> 0
		let x = Math.imul(a ^ (a >>> 15), 1 | a)
		x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
		return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296
	}
	return { pick: <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]! }
}

/** Values of every wrong kind: types, sizes, encodings, injections. */
const VALUES: unknown[] = [
	null,
	true,
	-1,
	0,
	1e308,
	3.5,
	'',
	' ',
	'a\u0000b',
	'lone \ud800 surrogate',
	'\udfff',
	'🚀'.repeat(300),
	'x'.repeat(5_000),
	"' or '1'='1",
	'../../etc/passwd',
	'<script>alert(1)</script>',
	'%00%ff%fe',
	'\u202Eevil',
	[],
	['a', 1, null],
	{},
	{ nested: { deeper: ['\u0000'] } },
]
/** Path and query values as raw URL text, malformed percent-encoding included. */
const RAW = [
	'%00',
	'%ED%A0%80',
	'%FF',
	'%',
	'%%',
	'..%2F..',
	'x'.repeat(3_000),
	'%F0%9F%9A%80',
	'null',
	'-1',
	'1e999',
	sessionIdPlaceholder(),
	'00000000-0000-0000-0000-000000000000',
	'%5B%5D',
]
/** Fields the API's bodies use, for operations whose document does not list them. */
const KNOWN_FIELDS = ['email', 'password', 'name', 'token', 'text', 'to', 'phoneNumber']

function sessionIdPlaceholder() {
	return ':session'
}

function schemaOf(op: Operation): Schema | undefined {
	let schema = op.requestBody?.content?.['application/json']?.schema
	const ref = schema?.$ref?.split('/').at(-1)
	if (ref) schema = doc.components?.schemas?.[ref]
	return schema
}

function bodies(op: Operation, pick: ReturnType<typeof random>['pick']): { body: string | Uint8Array; type?: string }[] {
	const fields = Object.keys(schemaOf(op)?.properties ?? {})
	const names = fields.length ? fields : KNOWN_FIELDS
	const out: { body: string | Uint8Array; type?: string }[] = [
		{ body: '{"email": ' },
		{ body: '[]' },
		{ body: 'null' },
		{ body: '"text"' },
		{ body: new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]) },
		{ body: JSON.stringify({ a: 'x'.repeat(LIMIT) }) },
		{ body: 'email=a%40b.c&password=x', type: 'application/x-www-form-urlencoded' },
		{ body: '{"name":"x"}', type: 'text/plain' },
		{ body: '{"__proto__": {"admin": true}, "constructor": {"prototype": {}}}' },
	]
	for (let i = 0; i < 12; i++) out.push({ body: JSON.stringify(Object.fromEntries(names.map((n) => [n, pick(VALUES)]))) })
	for (const name of names) for (const value of VALUES) out.push({ body: JSON.stringify({ [name]: value }) })
	return out
}

function urls(path: string, op: Operation, pick: ReturnType<typeof random>['pick']): string[] {
	const fill = (value: (name: string) => string) => path.replace(/\{(\w+)\}/g, (_, name: string) => value(name))
	const query = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name)
	const out = new Set<string>()
	for (const raw of RAW) {
		const value = raw === ':session' ? sessionId : raw
		out.add(fill(() => value))
		for (const name of query) out.add(`${fill(() => sessionId)}?${name}=${value}`)
	}
	for (let i = 0; i < 6; i++) out.add(`${fill(() => sessionId)}?${query.map((n) => `${n}=${pick(RAW)}`).join('&')}&${pick(RAW)}=${pick(RAW)}`)
	return [...out]
}

describe('every operation of the OpenAPI document, fuzzed', () => {
	it('never answers 5xx, and answers every 4xx with a JSON error and its code', async () => {
		const { pick } = random(7)
		const problems: string[] = []
		let requests = 0
		const check = async (method: string, url: string, init: { body?: string | Uint8Array; type?: string; headers?: Record<string, string> } = {}) => {
			requests++
			const headers: Record<string, string> = { 'x-forwarded-for': randomIp(), ...(init.headers ?? {}) }
			if (init.body !== undefined) headers['content-type'] = init.type ?? 'application/json'
			const res = await fetch(app.url + url, { method: method.toUpperCase(), headers, body: init.body })
			const text = await res.text()
			const label = `${method.toUpperCase()} ${url.slice(0, 120)} ${typeof init.body === 'string' ? init.body.slice(0, 80) : ''}`
			if (res.status >= 500) problems.push(`${res.status} ${label}`)
			if (res.status >= 400 && res.status < 500) {
				let code: unknown
				try {
					code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code
				} catch {}
				if (typeof code !== 'string' || !code) problems.push(`${res.status} without a JSON error code: ${label}`)
				if (!res.headers.get('content-type')?.startsWith('application/json')) problems.push(`${res.status} not JSON: ${label}`)
			}
		}

		for (const [path, operations] of Object.entries(doc.paths)) {
			for (const [method, op] of Object.entries(operations)) {
				if (method === 'ws' || path.startsWith('/swagger')) continue
				// Logging out everywhere would end this user's token for the operations after it.
				const auth = path === '/auth/logout-all' ? {} : alice.headers
				for (const url of urls(path, op, pick)) await check(method, url, { headers: auth })
				if (method !== 'get' && method !== 'delete')
					for (const { body, type } of bodies(op, pick)) await check(method, path.replace(/\{\w+\}/g, sessionId), { body, type, headers: auth })
				for (const authorization of ['Bearer', 'Bearer \u00ff', `Bearer ${alice.accessToken} x`, 'Basic Zm9vOmJhcg==', 'x'.repeat(9_000)])
					await check(method, path.replace(/\{\w+\}/g, sessionId), { headers: { authorization } })
			}
		}
		expect(requests).toBeGreaterThan(1_000)
		expect(problems).toEqual([])
	}, 120_000)
})
