import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { count, inArray } from 'drizzle-orm'
import { sessionMessages } from '../src/db/schema'
import { createVerifiedUser } from '../test/helpers/accounts'
import { startTestApp } from '../test/helpers/app'
import { clientFor } from '../test/helpers/sessions'
import { followIndexed } from './indexed-events'
import type { BenchResult } from './run'
import { type RunnerChild, rssRows, runnerEnv, spawnRunner } from './runner-process'

/**
 * One runner with a thousand paired sessions, and the restart storm. The stand-in and the runner
 * each run in a process of their own (the runner is bench/memory-runner.ts: the role alone, on its
 * main thread); this process runs the api and the consumer that create, pair and watch the
 * sessions. Sessions are paired by QR through the real path, several at a time. Then the runner is
 * killed with SIGKILL, texts are sent to some sessions while it is down, and a fresh runner brings
 * every session back; RSS and idle CPU are read from that fresh runner once it settled, and a
 * message to every session proves each one receives.
 */
const SESSIONS = Number(process.env.BENCH_SCALE_SESSIONS ?? 1000)
/** Sessions paired at once: a pairing generates 812 prekeys in one go, and many at once starve the runner's lease renewals. */
const PAIRING_PARALLELISM = Number(process.env.BENCH_SCALE_PAIRING ?? 8)
/** Long enough for two rounds of Baileys' 30 s keepalive on every socket. */
const IDLE_WINDOW_MS = Number(process.env.BENCH_SCALE_IDLE_MS ?? 60_000)
const SETTLE_MS = Number(process.env.BENCH_SCALE_SETTLE_MS ?? 15_000)
const CONNECT_RATE = Number(process.env.RUNNER_CONNECT_RATE ?? 50)
/** Sessions that get texts while the runner is down, and how many each. */
const QUEUED_SESSIONS = Math.min(SESSIONS, 100)
const QUEUED_TEXTS = 3
const PARTITIONS = 32
const TARGET_MB_PER_SESSION = 1.5
const TARGET_IDLE_CPU_PERCENT = 10
const TARGET_RESTART_S = 60
const CONTACT = '15550300001'
/** A folder: the fresh runner (the restart, the settled phase) runs under `bun --cpu-prof-md` and writes its profile there. */
const PROFILE_DIR = process.env.BENCH_SCALE_PROFILE
const MB = 1024 * 1024

interface Paired {
	id: string
	phone: string
}

export default async function scaleBench(): Promise<BenchResult[]> {
	const dir = mkdtempSync(join(tmpdir(), 'sb-bench-scale-'))
	const standIn = await spawnStandIn(dir)
	const app = await startTestApp({
		ROLES: 'api,consumer',
		MAX_SESSIONS_PER_TENANT: String(SESSIONS),
		ACCESS_TOKEN_TTL_SECONDS: String(24 * 3600),
		OUTBOX_RELAY_INTERVAL_MS: '50',
		COMMAND_PARTITIONS: String(PARTITIONS),
	})
	const events = followIndexed(app.server.bus)
	const env = runnerEnv(app, standIn, { LOG_LEVEL: 'warn', RUNNER_CONNECT_RATE: String(CONNECT_RATE) })
	// Pairing is setup, and each pairing generates its prekeys in one go: on a loaded machine a runner
	// pairing hundreds of sessions can hold its event loop past a lease renewal. The runner that pairs
	// runs with a long lease TTL and hands over gracefully; the measured runners use the defaults.
	let runner = await spawnRunner({ ...env, RUNNER_LEASE_TTL_MS: '60000' }, { logFile: join(dir, 'runner-1.log') })
	const killed: RunnerChild[] = []
	let succeeded = false
	try {
		const api = clientFor(app, await createVerifiedUser(app))
		await Bun.sleep(SETTLE_MS)
		const base = await runner.measure()
		log(`0 sessions: RSS ${(base.rss / MB).toFixed(1)} MB`)

		// ── pairing ────────────────────────────────────────────────────────────────────────
		const paired: Paired[] = []
		const pairingStarted = performance.now()
		const pair = async (n: number): Promise<Paired> => {
			const phone = `1555${String(n).padStart(7, '0')}`
			const created = await api.post<{ id: string }>('/sessions', {})
			if (created.status !== 201) throw new Error(`POST /sessions: ${created.status} ${JSON.stringify(created.body)}`)
			const id = created.body.id
			// On a busy machine a companion now and then drops before its pairing finished (it shows a
			// new QR, scanned in turn), or the answer to a scan that went through is lost.
			let qr = await events.waitFor('session.qr.updated', id)
			for (let attempt = 1; ; attempt++) {
				const after = events.position
				try {
					await standIn.post('/control/scan', { qr: (qr.data as { qr: string }).qr, phone })
					break
				} catch (err) {
					if (attempt === 3) throw err
					log(`pairing ${phone} again: ${(err as Error).message}`)
				}
				const next = await Promise.race([
					events.waitFor('session.qr.updated', id, { after }),
					events.waitFor('session.status.connected', id, { after }),
				])
				if (next.type === 'session.status.connected') break
				qr = next
			}
			await events.waitFor('session.status.connected', id)
			// Until its first history sync is through, Baileys holds a reconnected socket's events for
			// 20 s waiting for history that will not come again; a real phone finishes it first too.
			await events.waitFor('session.history.sync', id, { where: (e) => (e.data as { syncType?: string }).syncType === 'INITIAL_BOOTSTRAP' })
			return { id, phone }
		}
		let next = 0
		await Promise.all(
			Array.from({ length: PAIRING_PARALLELISM }, async () => {
				while (next < SESSIONS) {
					paired.push(await pair(next++))
					if (paired.length % 100 === 0) log(`${paired.length} paired (${((performance.now() - pairingStarted) / 1000).toFixed(0)} s)`)
				}
			}),
		)
		log(`${SESSIONS} sessions paired in ${((performance.now() - pairingStarted) / 1000).toFixed(0)} s`)
		const handover = events.position
		runner.proc.send('stop')
		await runner.proc.exited
		runner = await spawnRunner(env, { logFile: join(dir, 'runner-2.log') })
		const resumeStarted = performance.now()
		await Promise.all(paired.map((s) => events.waitFor('session.status.connected', s.id, { after: handover, timeoutMs: 300_000 })))
		log(`graceful restart with the default lease TTL: all ${SESSIONS} connected after ${((performance.now() - resumeStarted) / 1000).toFixed(1)} s`)
		await Bun.sleep(SETTLE_MS)
		const beforeKill = await standIn.stats()

		// ── the restart storm ──────────────────────────────────────────────────────────────
		const mark = events.position
		const killedAt = performance.now()
		runner.proc.kill('SIGKILL')
		await runner.proc.exited
		killed.push(runner)
		// Nobody told the API: the sessions still read connected, so these sends are accepted and queued.
		const queued = paired.slice(0, QUEUED_SESSIONS)
		const sends = await Promise.all(
			queued.map(async (s) => {
				const ids: string[] = []
				for (let i = 0; i < QUEUED_TEXTS; i++) {
					const sent = await api.post<{ messageId: string }>(`/sessions/${s.id}/messages`, { to: `+${CONTACT}`, text: `queued ${i} for ${s.phone}` })
					if (sent.status !== 202) throw new Error(`POST /sessions/${s.id}/messages: ${sent.status} ${JSON.stringify(sent.body)}`)
					ids.push(sent.body.messageId)
				}
				return { phone: s.phone, ids }
			}),
		)
		runner = await spawnRunner(env, { logFile: join(dir, 'runner-3.log'), profileDir: PROFILE_DIR, markdownProfile: true })
		const connectedAt = await Promise.all(
			paired.map(async (s) => {
				await events.waitFor('session.status.connected', s.id, { after: mark, timeoutMs: 300_000 })
				return performance.now()
			}),
		)
		const allConnected = Math.max(...connectedAt)
		const firstConnected = Math.min(...connectedAt)
		const restartS = (allConnected - killedAt) / 1000
		const spreadS = (allConnected - firstConnected) / 1000
		log(`kill -9 → all ${SESSIONS} connected: ${restartS.toFixed(1)} s (first → last: ${spreadS.toFixed(1)} s)`)

		const expected = new Map(sends.flatMap(({ phone, ids }) => ids.map((id) => [id, phone] as const)))
		const delivered = await standIn.waitForSent([...expected.keys()], 120_000)
		let inOrder = 0
		for (const { phone, ids } of sends) {
			const got = delivered.filter((m) => m.from.startsWith(`${phone}:`) && expected.has(m.id)).map((m) => m.id)
			if (JSON.stringify(got) === JSON.stringify(ids)) inOrder += ids.length
			else log(`queued sends of ${phone}: expected ${ids.join(',')}, the stand-in got ${got.join(',')}`)
		}
		const afterRestart = await standIn.stats()
		const qrShown = events.since(mark).filter((e) => e.type === 'session.qr.updated').length
		const maxLive = Math.max(...afterRestart.devices.map((d) => d.maxLive))
		log(
			`queued sends once and in order: ${inOrder}/${expected.size}; new QR codes: ${qrShown}; new registrations: ${afterRestart.registrations - beforeKill.registrations}; duplicate logins: ${afterRestart.duplicateLogins}; most sockets one device had at once: ${maxLive}`,
		)

		// ── the settled runner: memory and idle CPU ────────────────────────────────────────
		await Bun.sleep(SETTLE_MS)
		const settled = await runner.measure()
		const perSession = (settled.rss - base.rss) / MB / SESSIONS
		log(
			`${SESSIONS} sessions: RSS ${(settled.rss / MB).toFixed(1)} MB, ${perSession.toFixed(2)} MB a session (heap ${(settled.heapUsed / MB).toFixed(1)} MB)`,
		)
		const cpuBefore = await runner.cpu()
		const idleStarted = performance.now()
		await Bun.sleep(IDLE_WINDOW_MS)
		const cpuAfter = await runner.cpu()
		const idleCpu = ((cpuAfter.user + cpuAfter.system - cpuBefore.user - cpuBefore.system) / 1000 / (performance.now() - idleStarted)) * 100
		log(`idle CPU over ${IDLE_WINDOW_MS / 1000} s: ${idleCpu.toFixed(1)} % of one core`)

		// ── every session receives ─────────────────────────────────────────────────────────
		const pings = paired.map((s, i) => ({ to: s.phone, id: `3A${i.toString(16).toUpperCase().padStart(18, '0')}` }))
		const receiveStarted = performance.now()
		let sent = 0
		await Promise.all(
			Array.from({ length: 16 }, async () => {
				while (sent < pings.length) {
					const ping = pings[sent++]!
					await standIn.post('/control/messages', { to: ping.to, from: CONTACT, text: `ping ${ping.to}`, id: ping.id })
				}
			}),
		)
		const db = app.server.database.db
		const ids = pings.map((p) => p.id)
		let stored = 0
		for (const deadline = performance.now() + 120_000; performance.now() < deadline; await Bun.sleep(250)) {
			stored = (await db.select({ n: count() }).from(sessionMessages).where(inArray(sessionMessages.messageId, ids)))[0]!.n
			if (stored >= ids.length) break
		}
		log(`one message to each session: ${stored}/${ids.length} in PostgreSQL after ${((performance.now() - receiveStarted) / 1000).toFixed(1)} s`)

		const label = `${SESSIONS} sessions`
		succeeded = true
		return [
			...rssRows('scale', label, SESSIONS, settled, base, TARGET_MB_PER_SESSION),
			{
				name: `scale: idle CPU with ${label} (${IDLE_WINDOW_MS / 1000} s window)`,
				value: idleCpu,
				unit: '% of a core',
				baseline: TARGET_IDLE_CPU_PERCENT,
				baselineName: 'target',
				higherIsBetter: false,
			},
			{
				name: `scale: kill -9 → all ${label} connected on a fresh runner`,
				value: restartS,
				unit: 's',
				baseline: TARGET_RESTART_S,
				baselineName: 'target',
				higherIsBetter: false,
			},
			{
				name: `scale: first → last of ${label} connected after the restart`,
				value: spreadS,
				unit: 's',
				baseline: SESSIONS / CONNECT_RATE,
				baselineName: `pacing minimum at ${CONNECT_RATE}/s`,
				higherIsBetter: false,
			},
			{
				name: `scale: texts queued while the runner was down, delivered once in order`,
				value: inOrder,
				unit: 'msgs',
				baseline: expected.size,
				baselineName: 'sent',
				higherIsBetter: true,
			},
			{
				name: `scale: second sockets for a device (440) or QR codes after the restart`,
				value: afterRestart.duplicateLogins + qrShown + (afterRestart.registrations - beforeKill.registrations),
				unit: 'count',
				baseline: 0,
				baselineName: 'target',
				higherIsBetter: false,
			},
			{
				name: `scale: one message to each of ${label}, in PostgreSQL`,
				value: stored,
				unit: 'msgs',
				baseline: ids.length,
				baselineName: 'sent',
				higherIsBetter: true,
			},
		]
	} finally {
		// A profile is written when the process exits on its own.
		if (PROFILE_DIR && !killed.includes(runner)) await runner.stop(30_000)
		for (const r of [runner, ...killed]) r.proc.kill('SIGKILL')
		await Promise.all([runner.proc.exited, standIn.stop()])
		await events.stop()
		await app.close()
		if (succeeded) rmSync(dir, { recursive: true, force: true })
		else log(`the processes' output is in ${dir}`)
	}
}

const log = (line: string) => console.error(`  ${line}`)

interface StandInStats {
	registrations: number
	duplicateLogins: number
	devices: Array<{ jid: string; maxLive: number }>
}

/** `bun run stand-in` in a process of its own, state and output in `dir`, driven over its HTTP control routes. */
async function spawnStandIn(dir: string) {
	const logFile = join(dir, 'standin.log')
	const proc = Bun.spawn(
		[
			'bun',
			new URL('../packages/standin/src/cli.ts', import.meta.url).pathname,
			'--port',
			'0',
			'--media-port',
			'0',
			'--state',
			join(dir, 'standin.json'),
		],
		{ stdout: Bun.file(logFile), stderr: Bun.file(`${logFile}.err`) },
	)
	let settings: Record<string, string> = {}
	for (const deadline = performance.now() + 30_000; !settings.WA_ROOT_PUBLIC_KEY; await Bun.sleep(100)) {
		if (performance.now() > deadline) throw new Error(`the stand-in did not start; see ${logFile}`)
		settings = Object.fromEntries([...readFileSync(logFile, 'utf8').matchAll(/^\s*(WA_[A-Z_]+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]))
	}
	const wsUrl = settings.WA_WEBSOCKET_URL!
	const httpUrl = wsUrl.replace(/^ws/, 'http').replace(/\/ws\/chat$/, '')
	const post = async (path: string, body: unknown) => {
		const res = await fetch(httpUrl + path, { method: 'POST', body: JSON.stringify(body) })
		if (!res.ok) throw new Error(`stand-in ${path}: ${res.status} ${await res.text()}`)
		return await res.json()
	}
	return {
		wsUrl,
		rootPublicKey: settings.WA_ROOT_PUBLIC_KEY!,
		post,
		stats: async () => (await (await fetch(`${httpUrl}/control`)).json()) as StandInStats,
		/** What the linked devices sent, once it holds every one of `ids`. */
		async waitForSent(ids: string[], timeoutMs: number): Promise<Array<{ id: string; from: string }>> {
			const deadline = performance.now() + timeoutMs
			for (;;) {
				const sent = (await (await fetch(`${httpUrl}/control/sent`)).json()) as Array<{ id: string; from: string }>
				const have = new Set(sent.map((m) => m.id))
				if (ids.every((id) => have.has(id)) || performance.now() > deadline) return sent
				await Bun.sleep(500)
			}
		},
		async stop() {
			proc.kill('SIGTERM')
			await Promise.race([proc.exited, Bun.sleep(10_000)])
			proc.kill('SIGKILL')
		},
	}
}
