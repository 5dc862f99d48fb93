import { expect } from 'bun:test'
import postgres from 'postgres'
import type { User } from '../../src/modules/users/model'
import type { TestApp } from './app'
import type { ReceivedMail, SmtpSink } from './smtp'

export type { User }

export interface LoggedInUser {
	user: User
	email: string
	password: string
	accessToken: string
	/** `refresh_token=<value>`, ready for a Cookie header. */
	cookie: string
	/** `{ authorization: 'Bearer <accessToken>' }` */
	headers: { authorization: string }
}

export const uniqueEmail = (label = 'user') => `${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}@example.test`

/** A client address of its own (the test app trusts one proxy hop), so per-IP limits never couple tests. */
export const randomIp = () => `10.${rand255()}.${rand255()}.${rand255()}`
const rand255 = () => Math.floor(Math.random() * 255)

/** fetch with a JSON body and a client address; `body` may be a raw string (malformed input). */
export function api(app: TestApp, ip = randomIp()) {
	const request = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
		fetch(app.url + path, {
			method,
			headers: { 'x-forwarded-for': ip, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
			body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
		})
	return {
		ip,
		post: (path: string, body?: unknown, headers?: Record<string, string>) => request('POST', path, body, headers),
		patch: (path: string, body?: unknown, headers?: Record<string, string>) => request('PATCH', path, body, headers),
		get: (path: string, headers?: Record<string, string>) => request('GET', path, undefined, headers),
	}
}

/** The refresh cookie a response set, as `refresh_token=<value>`; null when it set none. */
export function refreshCookieOf(res: Response): string | null {
	for (const header of res.headers.getSetCookie()) {
		const match = /^refresh_token=([^;]*)/.exec(header)
		if (match) return `refresh_token=${match[1]}`
	}
	return null
}

/** The `token` (and `userId`) of the link in a mail. */
export function linkOf(mail: ReceivedMail): { token: string; userId: string | null; url: URL } {
	const match = /https?:\/\/\S+[?&]token=[A-Za-z0-9_-]+\S*/.exec(mail.text)
	if (!match) throw new Error(`no link with a token in mail "${mail.subject}"`)
	const url = new URL(match[0])
	return { token: url.searchParams.get('token')!, userId: url.searchParams.get('userId'), url }
}

export async function signUp(app: TestApp, body: { email: string; password: string; name?: string }) {
	const res = await api(app).post('/users', body)
	return { res, body: (await res.json()) as User & { error?: { code: string; message: string } } }
}

export async function login(app: TestApp, email: string, password: string) {
	const res = await api(app).post('/auth/login', { email, password })
	const body = (await res.json()) as { accessToken: string; tokenType: string; expiresIn: number; user: User }
	return { res, body, cookie: refreshCookieOf(res) }
}

/** Confirms the address with the token from the verification mail the sink received. */
export async function verifyFromMail(app: TestApp, smtp: SmtpSink, email: string): Promise<User> {
	const { token, userId } = linkOf(await smtp.nextMailTo(email))
	const res = await api(app).post(`/users/${userId}/verify`, { token })
	if (res.status !== 200) throw new Error(`verification failed: ${res.status} ${await res.text()}`)
	return (await res.json()) as User
}

/**
 * A new tenant with a verified, logged-in owner, in one call. With an SMTP sink (the app started
 * with `SMTP_URL: smtp.url`) the address is confirmed through the mailed link, as a person would;
 * without one it is marked verified in the database directly.
 */
export async function createVerifiedUser(
	app: TestApp,
	smtp?: SmtpSink,
	options: { email?: string; password?: string; name?: string } = {},
): Promise<LoggedInUser> {
	const email = options.email ?? uniqueEmail()
	const password = options.password ?? 'correct horse battery staple'
	const created = await signUp(app, { email, password, ...(options.name ? { name: options.name } : {}) })
	if (created.res.status !== 201) throw new Error(`sign-up failed: ${created.res.status} ${JSON.stringify(created.body)}`)
	if (smtp) await verifyFromMail(app, smtp, email)
	else {
		const sql = postgres(app.database.url, { max: 1, onnotice: () => {} })
		try {
			await sql`update users set verified_at = now() where id = ${created.body.id}`
		} finally {
			await sql.end({ timeout: 5 })
		}
	}
	const session = await login(app, email, password)
	if (session.res.status !== 200 || !session.cookie) throw new Error(`login failed: ${session.res.status} ${JSON.stringify(session.body)}`)
	return {
		user: session.body.user,
		email,
		password,
		accessToken: session.body.accessToken,
		cookie: session.cookie,
		headers: { authorization: `Bearer ${session.body.accessToken}` },
	}
}

/** Asserts an error response (`{ error: { code, message } }`) and returns its error. */
export async function expectError(response: Response | { res: Response; body: unknown }, status: number, code: string) {
	const res = response instanceof Response ? response : response.res
	const body = (response instanceof Response ? await res.json() : response.body) as { error?: { code: string; message: string; details?: unknown } }
	expect({ status: res.status, code: body.error?.code }).toEqual({ status, code })
	expect(body.error!.message.length).toBeGreaterThan(0)
	return body.error!
}
