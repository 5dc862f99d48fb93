import type { Bus } from '../src/bus'
import { DOMAIN_EVENTS } from '../src/core/streams'
import postgres from 'postgres'
import { countMessages, createSession } from '../test/events/fixtures'
import { copyMessages, MESSAGE_COLUMNS } from './copy'
import { startE2eWorld } from './e2e-world'
import type { BenchResult } from './run'

const MESSAGES = Number(process.env.BENCH_E2E_HISTORY_MESSAGES ?? 100_000)
const CHATS = Number(process.env.BENCH_E2E_HISTORY_CHATS ?? 200)
const CHUNK = Number(process.env.BENCH_E2E_HISTORY_CHUNK ?? 5_000)
const PHONE = '15550300001'

const now = () => performance.timeOrigin + performance.now()

/**
 * A history sync through the whole path: the stand-in pushes MESSAGES messages (CHATS chats) to one
 * paired session as WhatsApp does, in history-sync notifications of CHUNK messages, each sent once
 * the companion receipted the previous one; the runner (real Baileys) decodes and maps them and
 * publishes `session.history.sync` batches; the consumer writes them. Measured from the first chunk
 * sent until every message is a row of session_messages. Baseline in the same run: `COPY FROM
 * STDIN` of those very rows (read back as COPY text beforehand) into the same table, indexes and
 * all, under another session.
 */
export default async function e2eHistoryBench(): Promise<BenchResult[]> {
	const world = await startE2eWorld()
	try {
		// The phone's initial sync (app-state keys and a first, empty history chunk) goes out right
		// after pairing: it must be over before the measured sync starts.
		const initial = world.standIn.core.log.waitFor('history-chunk', (e) => e.device.startsWith(`${PHONE}:`), { timeoutMs: 60_000 })
		const session = { id: await world.pair(PHONE) }
		await world.stopFollowing()
		const { id: initialChunk } = await initial
		await world.standIn.waitForReceipt((r) => r.ids.includes(initialChunk) && r.type === 'hist_sync', { timeoutMs: 60_000 })
		const database = world.app.server.database
		const sql = database.sql!

		let firstChunkAt = 0
		const unsubscribe = world.standIn.core.log.subscribe((event) => {
			if (event.type === 'history-chunk' && event.index === 1) firstChunkAt = now()
		})
		const pushed = world.standIn.pushHistory({ to: PHONE, chats: CHATS, messagesPerChat: Math.ceil(MESSAGES / CHATS), chunkSize: CHUNK })
		let pushError: unknown
		pushed.catch((err) => (pushError = err))
		const expected = CHATS * Math.ceil(MESSAGES / CHATS)
		const deadline = Date.now() + 300_000
		while ((await countMessages(database.db, session.id)) < expected) {
			if (pushError) throw pushError
			if (Date.now() > deadline) throw new Error(`history sync: only ${await countMessages(database.db, session.id)} of ${expected} rows after 5 min`)
			await Bun.sleep(25)
		}
		const seconds = (now() - firstChunkAt) / 1000
		unsubscribe()
		const { chunks } = await pushed
		const published = await lastPublished(world.app.server.bus, session.id)

		// The baseline's input: the rows just written, as COPY text, under a session of its own.
		const copied = await createSession(database.db, 'copied')
		const text = await copyOut(world.app.database.url, session.id, copied.sessionId)
		const lines = text.split(/(?<=\n)/)
		if (lines.length !== expected) throw new Error(`read back ${lines.length} rows, expected ${expected}`)
		const copySeconds = await copyMessages(sql, lines)
		const copiedRows = await countMessages(database.db, copied.sessionId)
		if (copiedRows !== expected) throw new Error(`COPY wrote ${copiedRows} rows`)

		const rate = expected / seconds
		const copyRate = expected / copySeconds
		// Where the time went: the runner's share ends with its last batch on the stream.
		console.error(
			`  history: ${expected} msgs in ${chunks} chunks: all published after ${((published - firstChunkAt) / 1000).toFixed(2)} s, all in Postgres after ${seconds.toFixed(2)} s; COPY ${copySeconds.toFixed(2)} s`,
		)
		return [
			{
				name: `e2e history sync: ${expected / 1000}k msgs, stand-in → Baileys → Postgres (${chunks} chunks)`,
				value: rate,
				unit: 'msgs/s',
				baseline: copyRate,
				baselineName: 'COPY',
				higherIsBetter: true,
			},
		]
	} finally {
		await world.close()
	}
}

/** When (ms since the epoch) the session's last `session.history.sync` reached the stream: its entry id says. */
async function lastPublished(bus: Bus, sessionId: string): Promise<number> {
	let last = 0
	for (let after = '0'; ; ) {
		const entries = await bus.read(DOMAIN_EVENTS, { after, count: 1_000 })
		if (!entries.length) return last
		for (const { id, envelope } of entries)
			if (envelope.type === 'session.history.sync' && envelope.sessionId === sessionId) last = Number(id.split('-')[0])
		after = entries.at(-1)!.id
	}
}

/**
 * The session's message rows in COPY text format, with `asSession` in place of its id. On a client
 * of its own, closed after: postgres.js can leave a connection's socket paused once a COPY TO
 * stream ends (porsager/postgres#499), and the next query on it would wait forever.
 */
async function copyOut(url: string, sessionId: string, asSession: string): Promise<string> {
	const sql = postgres(url, { max: 1, onnotice: () => {} })
	try {
		const columns = MESSAGE_COLUMNS.replace('session_id', `'${asSession}'::uuid`)
		const readable = await sql.unsafe(`copy (select ${columns} from session_messages where session_id = '${sessionId}') to stdout`).readable()
		const parts: Buffer[] = []
		for await (const part of readable) parts.push(part as Buffer)
		return Buffer.concat(parts).toString('utf8')
	} finally {
		await sql.end({ timeout: 1 })
	}
}
