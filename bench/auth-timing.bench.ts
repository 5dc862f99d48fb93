import { api, createVerifiedUser, uniqueEmail } from '../test/helpers/accounts'
import { startTestApp } from '../test/helpers/app'
import { startSmtpSink } from '../test/helpers/smtp'
import type { BenchResult } from './run'

const ROUNDS = Number(process.env.BENCH_AUTH_ROUNDS ?? 30)
const WARMUP = 3

/**
 * What an attacker probing for accounts measures: how long the API takes to answer for an address
 * without an account, next to the same request for one that has an account, alternating, through
 * HTTP, in the same run. A ratio well below 1 means unknown addresses answer faster, which gives
 * them away; the ratio should stay near 1.
 *
 * - `POST /auth/login` with a wrong password: both cases pay one argon2id verification, the
 *   unknown address against a dummy hash.
 * - `POST /auth/password-reset`: both answer 202 before looking the address up; the lookup and
 *   the mail (to a local SMTP server) happen afterwards.
 */
export default async function authTimingBench(): Promise<BenchResult[]> {
	const smtp = await startSmtpSink()
	const unlimited = '1000000'
	const app = await startTestApp({
		SMTP_URL: smtp.url,
		RATE_LIMIT_LOGIN_PER_IP: unlimited,
		RATE_LIMIT_LOGIN_PER_ACCOUNT: unlimited,
		RATE_LIMIT_MAIL_PER_IP: unlimited,
		RATE_LIMIT_MAIL_PER_ACCOUNT: unlimited,
	})
	try {
		const alice = await createVerifiedUser(app, smtp)
		const client = api(app)
		const timed = async (path: string, body: unknown, status: number) => {
			const started = performance.now()
			const res = await client.post(path, body)
			await res.arrayBuffer()
			const ms = performance.now() - started
			if (res.status !== status) throw new Error(`POST ${path}: ${res.status}, expected ${status}`)
			return ms
		}
		const compare = async (path: string, known: unknown, unknown: () => unknown, status: number) => {
			const knownMs: number[] = []
			const unknownMs: number[] = []
			for (let i = 0; i < WARMUP + ROUNDS; i++) {
				const k = await timed(path, known, status)
				const u = await timed(path, unknown(), status)
				if (i < WARMUP) continue
				knownMs.push(k)
				unknownMs.push(u)
			}
			return { known: median(knownMs), unknown: median(unknownMs) }
		}

		const login = await compare(
			'/auth/login',
			{ email: alice.email, password: 'not the password' },
			() => ({ email: uniqueEmail('ghost'), password: 'not the password' }),
			401,
		)
		const reset = await compare('/auth/password-reset', { email: alice.email }, () => ({ email: uniqueEmail('ghost') }), 202)
		return [
			{
				name: `login p50, unknown email (${ROUNDS} rounds)`,
				value: login.unknown,
				unit: 'ms',
				baseline: login.known,
				baselineName: 'wrong password',
				higherIsBetter: true,
			},
			{
				name: `password reset p50, unknown address (${ROUNDS} rounds)`,
				value: reset.unknown,
				unit: 'ms',
				baseline: reset.known,
				baselineName: 'known address',
				higherIsBetter: true,
			},
		]
	} finally {
		await app.close()
		await smtp.close()
	}
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
