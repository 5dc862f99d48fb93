import { and, asc, eq, ilike, isNotNull, isNull, like, or, sql, type SQL } from 'drizzle-orm'
import { schema, type Db } from '../../db/client'
import { cursorString, type CursorCodec } from '../../lib/cursor'
import type { Page, SessionsService } from '../sessions/service'

const { sessionContacts: contacts } = schema

export interface PublicContact {
	jid: string
	pnJid: string | null
	lidJid: string | null
	displayName: string | null
	name: string | null
	notify: string | null
	verifiedName: string | null
	imgUrl: string | null
}

/** The sort key, exactly as `session_contacts_display_idx` indexes it. */
const sortKey = sql<string | null>`lower(coalesce(${contacts.name}, ${contacts.notify}, ${contacts.verifiedName}))`

const columns = {
	jid: contacts.jid,
	pnJid: contacts.pnJid,
	lidJid: contacts.lidJid,
	name: contacts.name,
	notify: contacts.notify,
	verifiedName: contacts.verifiedName,
	imgUrl: contacts.imgUrl,
	sortKey,
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`)

export interface ContactsServiceDeps {
	db: Db
	cursors: CursorCodec
	sessions: SessionsService
}

export class ContactsService {
	constructor(private readonly deps: ContactsServiceDeps) {}

	/**
	 * Contacts by the name they are shown with, then JID; contacts without any name come last.
	 * `q` filters the same index walk (a session's address book is small enough to scan).
	 */
	async list(tenantId: string, { sessionId, q, limit = 50, cursor }: { sessionId?: string; q?: string; limit?: number; cursor?: string }): Promise<Page<PublicContact>> {
		const sid = await this.deps.sessions.resolveId(tenantId, sessionId)
		const search = q?.trim()
		const scope = `contacts:${sid}:${search ?? ''}`
		let after: { key: string | null; jid: string } | undefined
		if (cursor) {
			const [key, jid] = this.deps.cursors.decode(scope, cursor)
			after = { key: key === null ? null : cursorString(key), jid: cursorString(jid) }
		}
		let matches: SQL | undefined
		if (search) {
			const pattern = `%${escapeLike(search)}%`
			const digits = search.replace(/\D/g, '')
			matches = or(
				ilike(contacts.name, pattern),
				ilike(contacts.notify, pattern),
				ilike(contacts.verifiedName, pattern),
				...(digits.length >= 3 ? [like(contacts.jid, `%${digits}%`), like(contacts.pnJid, `%${digits}%`), like(contacts.lidJid, `%${digits}%`)] : []),
			)
		}
		const page = (where: SQL | undefined, take: number) =>
			this.deps.db
				.select(columns)
				.from(contacts)
				.where(and(eq(contacts.sessionId, sid), where, matches))
				.orderBy(asc(sortKey), asc(contacts.jid))
				.limit(take)

		// Named contacts, then the nameless ones (NULLS LAST), each an index range.
		let rows: Awaited<ReturnType<typeof page>> = []
		if (!after || after.key !== null) {
			const since = after ? sql`(${sortKey}, ${contacts.jid}) > (${after.key}, ${after.jid})` : undefined
			rows = await page(and(isNotNull(sortKey), since), limit + 1)
		}
		if (rows.length <= limit) {
			const since = after && after.key === null ? sql`${contacts.jid} > ${after.jid}` : undefined
			rows = rows.concat(await page(and(isNull(sortKey), since), limit + 1 - rows.length))
		}
		const items = rows.slice(0, limit).map(({ sortKey: _, ...c }) => ({ ...c, displayName: c.name ?? c.notify ?? c.verifiedName }))
		const last = rows.length > limit ? rows[limit - 1] : undefined
		return { items, nextCursor: last ? this.deps.cursors.encode(scope, [last.sortKey, last.jid]) : null }
	}
}
