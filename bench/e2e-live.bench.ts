import { inArray, like, and, sql } from 'drizzle-orm'
import type { StandIn } from '@switchboard/standin'
import { sessionMessages } from '../src/db/schema'
import { startE2eWorld, untilQuiet } from './e2e-world'
import type { ReceiverStart } from './e2e-receiver.worker'
import type { BenchResult } from './run'

const SESSIONS = Number(process.env.BENCH_E2E_SESSIONS ?? 20)
const RATE = Number(process.env.BENCH_E2E_RATE ?? 200)
const SECONDS = Number(process.env.BENCH_E2E_SECONDS ?? 10)
/** Sent but not measured: the first messages of each contact also create it on the stand-in. */
const WARMUP_MS = 2_000
const TICK_MS = 5
/** Contacts writing to each session. */
const CONTACTS = 5
const DRAIN_MS = 30_000

const now = () => performance.timeOrigin + performance.now()

interface Run {
	/** Latencies (ms) of the measured messages' first arrivals. */
	latencies: number[]
	/** Of those, the part until the message's event was on the stream (the WebSocket run only). */
	toStream: number[]
	sent: number
	/** Messages that arrived exactly once (warm-up included). */
	once: number
}

/**
 * Incoming messages through the whole path: SESSIONS paired sessions, RATE messages a second
 * spread over them for SECONDS seconds (after a warm-up), sent by the stand-in to the runner's real
 * Baileys sockets; latency from the stand-in's send to a WebSocket client's `session.messages.upsert`.
 * Every message must reach the socket once and be in PostgreSQL once. Baseline in the same run: the
 * same frames to as many bare Baileys sockets with nothing around them (send → `messages.upsert`).
 */
export default async function e2eLiveBench(): Promise<BenchResult[]> {
	const world = await startE2eWorld()
	try {
		const bare = await bareBaileys(world.standIn)
		const phones = Array.from({ length: SESSIONS }, (_, i) => `155505${String(i).padStart(5, '0')}`)
		const ids = await world.pairAll(phones)
		await world.stopFollowing()
		console.error(`  the runner settled ${(await world.settle()).toFixed(1)} s after the last pairing`)
		const receiver = await startReceiver({
			kind: 'websocket',
			url: `${world.app.url.replace('http', 'ws')}/ws/sessions?accessToken=${world.api.user.accessToken}`,
		})
		const sb = await drive(world.standIn, phones, receiver)
		const stored = await storedOnce(world.app.server.database.db, ids, sb.sent)

		const label = `${SESSIONS} sessions, ${RATE} msgs/s`
		const pct = (run: Run, p: number) => percentile(run.latencies, p)
		const row = (what: string, p: number): BenchResult => ({
			name: `e2e live ${what}: stand-in send → WebSocket upsert (${label})`,
			value: pct(sb, p),
			unit: 'ms',
			baseline: pct(bare, p),
			baselineName: 'bare Baileys',
			higherIsBetter: false,
		})
		console.error(
			`  bare Baileys: p50 ${pct(bare, 50).toFixed(1)} p99 ${pct(bare, 99).toFixed(1)} max ${pct(bare, 100).toFixed(1)} ms, ${bare.once}/${bare.sent} once`,
		)
		console.error(
			`  Switchboard: p50 ${pct(sb, 50).toFixed(1)} p99 ${pct(sb, 99).toFixed(1)} max ${pct(sb, 100).toFixed(1)} ms, ${sb.once}/${sb.sent} once, ${stored} stored`,
		)
		// Where it went: send → the event on the stream (stand-in, Baileys, the runner) and the rest
		// (the hub's read and the WebSocket).
		const split = (p: number) => `${percentile(sb.toStream, p).toFixed(1)}`
		console.error(`  of which send → stream entry: p50 ${split(50)} p99 ${split(99)} max ${split(100)} ms`)
		return [
			row('p50', 50),
			row('p99', 99),
			row('max', 100),
			{
				name: `e2e live: messages on the WebSocket exactly once (${label})`,
				value: sb.once,
				unit: 'msgs',
				baseline: sb.sent,
				baselineName: 'sent',
				higherIsBetter: true,
			},
			{
				name: `e2e live: messages in PostgreSQL (${label})`,
				value: stored,
				unit: 'msgs',
				baseline: sb.sent,
				baselineName: 'sent',
				higherIsBetter: true,
			},
		]
	} finally {
		await world.close()
	}
}

function percentile(values: number[], p: number): number {
	if (!values.length) return Number.NaN
	const sorted = Float64Array.from(values).sort()
	return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

interface Receiver {
	worker: Worker
	next<T>(kind: string, where?: (data: T) => boolean): Promise<T>
}

async function startReceiver(start: ReceiverStart, onMessage?: (data: { kind: string }) => void): Promise<Receiver> {
	const worker = new Worker(new URL('./e2e-receiver.worker.ts', import.meta.url))
	if (onMessage) worker.addEventListener('message', (e: MessageEvent<{ kind: string }>) => onMessage(e.data))
	const next = <T>(kind: string, where: (data: T) => boolean = () => true) =>
		new Promise<T>((resolve) => {
			const listener = (e: MessageEvent<{ kind: string }>) => {
				if (e.data.kind !== kind || !where(e.data as T)) return
				worker.removeEventListener('message', listener)
				resolve(e.data as T)
			}
			worker.addEventListener('message', listener)
		})
	const opened = start.kind === 'websocket' ? next('open') : undefined
	worker.postMessage(start)
	await opened
	return { worker, next }
}

/** The baseline: bare Baileys sockets linked to SESSIONS other phones, fed the same way. */
async function bareBaileys(standIn: StandIn): Promise<Run> {
	const phones = Array.from({ length: SESSIONS }, (_, i) => `155504${String(i).padStart(5, '0')}`)
	const scanned = new Set<number>()
	let opened = 0
	const allOpen = Promise.withResolvers<void>()
	const receiver = await startReceiver({ kind: 'baileys', wsUrl: standIn.wsUrl, rootPublicKey: standIn.rootPublicKey, sockets: SESSIONS }, (data) => {
		const message = data as { kind: string; index: number; qr?: string }
		if (message.kind === 'qr' && !scanned.has(message.index)) {
			scanned.add(message.index)
			standIn.scanQr(message.qr!, phones[message.index]!).catch(allOpen.reject)
		}
		if (message.kind === 'open' && ++opened === SESSIONS) allOpen.resolve()
	})
	await allOpen.promise
	// The same steady state as Switchboard's runner gets: the sockets' post-pairing work is over
	// (this process holds the stand-in and the sockets' thread).
	const quiet = await untilQuiet(() => {
		const { user, system } = process.cpuUsage()
		return user + system
	})
	console.error(`  the bare sockets settled ${quiet.toFixed(1)} s after the last pairing`)
	return await drive(standIn, phones, receiver)
}

/** Sends RATE messages a second round-robin over the phones, then collects what the receiver saw. */
async function drive(standIn: StandIn, phones: string[], receiver: Receiver): Promise<Run> {
	const started = now()
	const measureFrom = started + WARMUP_MS
	const end = measureFrom + SECONDS * 1000
	const deliveries: Promise<unknown>[] = []
	let sent = 0
	let firstMeasured = Number.POSITIVE_INFINITY
	while (now() < end) {
		const due = Math.floor(((now() - started) / 1000) * RATE) - sent
		for (let i = 0; i < due; i++, sent++) {
			const session = sent % phones.length
			const contact = Math.floor(sent / phones.length) % CONTACTS
			const stamp = now()
			if (stamp >= measureFrom && firstMeasured === Number.POSITIVE_INFINITY) firstMeasured = sent
			deliveries.push(
				standIn.deliverText({
					to: phones[session]!,
					from: `15550${String(session).padStart(3, '0')}${String(contact).padStart(3, '0')}`,
					pushName: `Contact ${contact}`,
					text: `e2e:${sent}:${stamp}`,
				}),
			)
		}
		await Bun.sleep(TICK_MS)
	}
	await Promise.all(deliveries)
	const done = receiver.next<{ seqs: number[]; latencies: number[]; toStream: number[] }>('done')
	receiver.worker.postMessage({ kind: 'finish', expected: sent, timeoutMs: DRAIN_MS })
	const { seqs, latencies, toStream } = await done
	receiver.worker.terminate()
	const counts = new Map<number, number>()
	const measured: number[] = []
	const measuredToStream: number[] = []
	seqs.forEach((seq, i) => {
		const n = (counts.get(seq) ?? 0) + 1
		counts.set(seq, n)
		if (n !== 1 || seq < firstMeasured) return
		measured.push(latencies[i]!)
		if (toStream.length) measuredToStream.push(toStream[i]!)
	})
	let once = 0
	for (const n of counts.values()) if (n === 1) once++
	return { latencies: measured, toStream: measuredToStream, sent, once }
}

/** Rows of the benchmark's messages in session_messages, once the consumer wrote them all (or gave up). */
async function storedOnce(db: import('../src/db/client').Db, sessionIds: string[], sent: number): Promise<number> {
	const count = async () => {
		const [row] = await db
			.select({ n: sql<number>`count(*)::int` })
			.from(sessionMessages)
			.where(and(inArray(sessionMessages.sessionId, sessionIds), like(sessionMessages.text, 'e2e:%')))
		return row?.n ?? 0
	}
	const deadline = Date.now() + DRAIN_MS
	let n = await count()
	while (n < sent && Date.now() < deadline) {
		await Bun.sleep(100)
		n = await count()
	}
	return n
}
