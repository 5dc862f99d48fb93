import { and, asc, eq, gt, isNull, sql } from 'drizzle-orm'
import { LRUCache } from 'lru-cache'
import QRCode from 'qrcode'
import type { Config } from '../../config'
import { schema, type Db, type Tx } from '../../db/client'
import { lockTenant } from '../../db/tenant-lock'
import { isEnded, type SessionStatus } from '../../core/session-status'
import type { Session } from './model'
import { describeStatus } from './state'
import { enqueue, type Relay } from '../../bus'
import { command, domainEvent } from '../../core/catalogue'
import { cursorString, type CursorCodec } from '../../lib/cursor'
import { fetchSize, literalLimit, perSize, rawRows, type Page } from '../../lib/keyset'
import { ConflictError, InvalidInputError, NotFoundError } from '../../core/errors'
import { normalizePhoneNumber } from '../../core/jid'

const { sessions } = schema

/** The columns of a `Session`; the realtime snapshot selects the same. */
export const publicColumns = {
	id: sessions.id,
	name: sessions.name,
	status: sessions.status,
	desiredState: sessions.desiredState,
	phoneNumber: sessions.phoneNumber,
	jid: sessions.jid,
	lid: sessions.lid,
	qr: sessions.qr,
	pairingCode: sessions.pairingCode,
	lastError: sessions.lastError,
	ownerRunner: sessions.ownerRunner,
	createdAt: sessions.createdAt,
	updatedAt: sessions.updatedAt,
}
type SessionRow = Omit<Session, 'createdAt' | 'updatedAt'> & { createdAt: Date; updatedAt: Date }

/** Field by field, so a row carrying more (the realtime snapshot's merged rows) shows no more. */
export const toPublic = (r: SessionRow): Session => ({
	id: r.id,
	name: r.name,
	status: r.status,
	desiredState: r.desiredState,
	phoneNumber: r.phoneNumber,
	jid: r.jid,
	lid: r.lid,
	qr: r.qr,
	pairingCode: r.pairingCode,
	lastError: r.lastError,
	ownerRunner: r.ownerRunner,
	createdAt: r.createdAt.toISOString(),
	updatedAt: r.updatedAt.toISOString(),
})

const sessionNotFound = () => NotFoundError.of('Session')

const p = sql.placeholder
const ofTenant = (tenantId: string, id: string) => and(eq(sessions.id, id), eq(sessions.tenantId, tenantId), isNull(sessions.deletedAt))

export type QrFormat = 'png' | 'svg'

export interface SessionsServiceDeps {
	db: Db
	config: Pick<Config, 'maxSessionsPerTenant'>
	cursors: CursorCodec
	/** Publishes what a request enqueued at once instead of at the relay's next tick. */
	relay?: Relay | null
}

/** What a phone number to link by pairing code must be, as a refusal says it of the field. */
const PHONE_NUMBER_FORMAT = 'must be an international number with its country code, e.g. +1 555-777 0003'

/**
 * WhatsApp sessions of a tenant. Every change a runner must act on is a command written to the
 * outbox in the transaction that records what was asked (`desired_state`), so the two never
 * disagree; the connection status itself comes back through domain events (the consumer writes
 * it), except `starting`, which the API sets when it asks a stopped session to start.
 */
/**
 * `Session <k>` one past the highest such name the tenant's sessions have, and past their count:
 * a name given by default never repeats one in use (after a delete, "Session 3" follows "Session 2").
 */
function defaultName(names: readonly string[]): string {
	const highest = Math.max(names.length, ...names.map((name) => Number(/^Session (\d{1,9})$/.exec(name)?.[1] ?? 0)))
	return `Session ${highest + 1}`
}

export class SessionsService {
	private readonly qrImages = new LRUCache<string, Promise<Buffer | string>>({ max: 256 })
	private readonly reads

	constructor(private readonly deps: SessionsServiceDeps) {
		// Prepared once: Drizzle then neither rebuilds the SQL nor has Postgres parse it per request,
		// which on these one-row reads is most of the cost.
		const { db } = deps
		const mine = and(eq(sessions.id, p('id')), eq(sessions.tenantId, p('tenantId')), isNull(sessions.deletedAt))
		const listed = (after: boolean) =>
			perSize((size) =>
				db
					.select(publicColumns)
					.from(sessions)
					// uuid v7 ids sort by creation time: the list is oldest first.
					.where(and(eq(sessions.tenantId, p('tenantId')), isNull(sessions.deletedAt), after ? gt(sessions.id, p('after')) : undefined))
					.orderBy(asc(sessions.id))
					.limit(literalLimit(size))
					.prepare(`sessions_list${after ? '_after' : ''}_${size}`),
			)
		this.reads = {
			list: listed(false),
			listAfter: listed(true),
			get: db.select(publicColumns).from(sessions).where(mine).prepare('sessions_get'),
			own: db.select({ id: sessions.id }).from(sessions).where(mine).prepare('sessions_own'),
			only: db
				.select({ id: sessions.id })
				.from(sessions)
				.where(and(eq(sessions.tenantId, p('tenantId')), isNull(sessions.deletedAt)))
				.limit(literalLimit(2))
				.prepare('sessions_only'),
			qr: db
				.select({ status: sessions.status, qr: sessions.qr, pairingCode: sessions.pairingCode, lastError: sessions.lastError })
				.from(sessions)
				.where(mine)
				.prepare('sessions_qr'),
		}
	}

	async list(tenantId: string, { limit = 50, cursor }: { limit?: number; cursor?: string }): Promise<Page<Session>> {
		const scope = `sessions:${tenantId}`
		const after = cursor ? cursorString(this.deps.cursors.decode(scope, cursor)[0]) : undefined
		const size = fetchSize(limit + 1)
		const rows = after ? await this.reads.listAfter(size).execute({ tenantId, after }) : await this.reads.list(size).execute({ tenantId })
		const items = rows.slice(0, limit).map(toPublic)
		const nextCursor = rows.length > limit ? this.deps.cursors.encode(scope, [items.at(-1)!.id]) : null
		return { items, nextCursor }
	}

	async get(tenantId: string, id: string): Promise<Session> {
		const [row] = await this.reads.get.execute({ id, tenantId })
		if (!row) throw sessionNotFound()
		return toPublic(row)
	}

	/**
	 * The session a per-session read or send is about: the given one if it is the tenant's, else
	 * the tenant's only session.
	 */
	async resolveId(tenantId: string, sessionId: string | undefined): Promise<string> {
		// Raw rows: this runs before every list page, and an id needs no mapping.
		if (sessionId) {
			const [row] = await rawRows<{ id: string }>(this.reads.own, { id: sessionId, tenantId })
			if (!row) throw sessionNotFound()
			return row.id
		}
		const rows = await rawRows<{ id: string }>(this.reads.only, { tenantId })
		if (rows.length === 0) throw new NotFoundError('NOT_FOUND', 'This account has no session; create one with POST /sessions')
		if (rows.length > 1)
			throw new InvalidInputError('SESSION_REQUIRED', 'This account has several sessions; say which one with the sessionId query parameter')
		return rows[0]!.id
	}

	/** Creates the session and asks a runner to start it: row, `session.created` and `session.start` in one transaction. */
	async create(tenantId: string, input: { name?: string; phoneNumber?: string }): Promise<Session> {
		if (input.name !== undefined && !input.name.trim())
			throw new InvalidInputError('INVALID_NAME', 'name must not be blank; leave it out for a numbered name', { field: 'name' })
		let phoneNumber: string | undefined
		if (input.phoneNumber !== undefined) {
			phoneNumber = normalizePhoneNumber(input.phoneNumber) ?? undefined
			if (!phoneNumber)
				throw new InvalidInputError('INVALID_PHONE_NUMBER', `phoneNumber ${PHONE_NUMBER_FORMAT}`, {
					field: 'phoneNumber',
					message: PHONE_NUMBER_FORMAT,
				})
		}
		const { maxSessionsPerTenant: limit } = this.deps.config
		const session = await this.deps.db.transaction(async (tx) => {
			await lockTenant(tx, tenantId)
			const live = await tx
				.select({ name: sessions.name })
				.from(sessions)
				.where(and(eq(sessions.tenantId, tenantId), isNull(sessions.deletedAt)))
			const n = live.length
			if (n >= limit)
				throw new ConflictError(
					'SESSION_LIMIT_REACHED',
					`This account already has ${n} sessions, the most it may have (${limit}); delete one to create another`,
					{ limit },
				)
			const name = input.name?.trim() || defaultName(live.map((r) => r.name))
			const [row] = await tx
				.insert(sessions)
				.values({ tenantId, name, phoneNumber, status: 'starting', desiredState: 'running' })
				.returning(publicColumns)
			const meta = { tenantId, sessionId: row!.id }
			await enqueue(tx, [
				domainEvent('session.created', meta, { name, ...(phoneNumber ? { phoneNumber } : {}) }),
				command('session.start', meta, phoneNumber ? { phoneNumber } : {}),
			])
			return toPublic(row!)
		})
		this.deps.relay?.nudge()
		return session
	}

	/** Desired state running + `session.start`; a running session stays as it is. */
	start(tenantId: string, id: string): Promise<Session> {
		return this.command(tenantId, id, async (tx, row) => {
			const [updated] = await tx
				.update(sessions)
				.set({
					desiredState: 'running',
					...(isEnded(row.status) ? { status: 'starting' as const } : {}),
					updatedAt: sql`now()`,
				})
				.where(ofTenant(tenantId, id))
				.returning(publicColumns)
			await enqueue(tx, command('session.start', { tenantId, sessionId: id }, {}))
			return updated!
		})
	}

	/** Desired state stopped + `session.stop`: the socket closes, the pairing stays for the next start. */
	stop(tenantId: string, id: string): Promise<Session> {
		return this.command(tenantId, id, async (tx) => {
			const [updated] = await tx
				.update(sessions)
				.set({ desiredState: 'stopped', updatedAt: sql`now()` })
				.where(ofTenant(tenantId, id))
				.returning(publicColumns)
			await enqueue(tx, command('session.stop', { tenantId, sessionId: id }, {}))
			return updated!
		})
	}

	/**
	 * Hides the session at once (tombstone) and asks for a logout; `session.deleted` tells clients.
	 * The purge (purge.ts) then deletes its chats, messages and contacts a batch at a time. The row
	 * itself, and with it the creds the runner needs to unlink the device, stays until the runner
	 * reports the logout and the rows are gone.
	 */
	remove(tenantId: string, id: string): Promise<Session> {
		return this.command(tenantId, id, async (tx) => {
			const [updated] = await tx
				.update(sessions)
				.set({ desiredState: 'stopped', deletedAt: sql`now()`, updatedAt: sql`now()` })
				.where(ofTenant(tenantId, id))
				.returning(publicColumns)
			const meta = { tenantId, sessionId: id }
			await enqueue(tx, [command('session.logout', meta, {}), domainEvent('session.deleted', meta, {})])
			return updated!
		})
	}

	private async command(tenantId: string, id: string, change: (tx: Tx, row: { status: SessionStatus }) => Promise<SessionRow>): Promise<Session> {
		const session = await this.deps.db.transaction(async (tx) => {
			// The lock orders concurrent commands of one session: the outbox gets them in the order their state changes commit.
			const [row] = await tx.select({ status: sessions.status }).from(sessions).where(ofTenant(tenantId, id)).for('update')
			if (!row) throw sessionNotFound()
			return toPublic(await change(tx, row))
		})
		this.deps.relay?.nudge()
		return session
	}

	/** The QR to scan, rendered; 404 when there is none (connected, stopped, pairing by code). */
	async qrImage(tenantId: string, id: string, format: QrFormat): Promise<Buffer | string> {
		const [row] = await this.reads.qr.execute({ id, tenantId })
		if (!row) throw sessionNotFound()
		if (row.status === 'qr' && !row.qr && row.pairingCode)
			throw new NotFoundError(
				'NO_QR',
				'There is no QR to scan: this session pairs by code; enter its pairingCode on the phone (WhatsApp › Linked devices › Link with phone number)',
				{ status: row.status },
			)
		if (row.status !== 'qr' || !row.qr) {
			const { text, details } = describeStatus(row)
			throw new NotFoundError('NO_QR', `There is no QR to scan (status: ${text}); QRs exist while the status is qr`, details)
		}
		return this.render(row.qr, format)
	}

	/** Clients poll the QR; each one (a new one every 20 s) is rendered once per format. */
	private render(qr: string, format: QrFormat): Promise<Buffer | string> {
		const key = `${format} ${qr}`
		let image = this.qrImages.get(key)
		if (!image) {
			image = format === 'svg' ? QRCode.toString(qr, { type: 'svg', margin: 2 }) : QRCode.toBuffer(qr, { type: 'png', margin: 2, scale: 8 })
			image.catch(() => this.qrImages.delete(key))
			this.qrImages.set(key, image)
		}
		return image
	}
}
