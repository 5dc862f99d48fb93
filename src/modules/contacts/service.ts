import { and, asc, eq, ilike, isNotNull, isNull, like, or, sql } from 'drizzle-orm'
import { InvalidInputError, NotFoundError } from '../../core/errors'
import { isGroupJid, normalizeRecipient } from '../../core/jid'
import { schema, type Db } from '../../db/client'
import { jidFormsOf } from '../../db/jid-forms'
import { foldName, nameSortKey } from '../../db/sort-key'
import { cursorString, type CursorCodec } from '../../lib/cursor'
import { fetchSize, literalLimit, rawRows, type Page } from '../../lib/keyset'
import type { SessionsService } from '../sessions/service'
import type { Contact } from './model'

const { sessionContacts: contacts } = schema

/** The sort key, exactly as `session_contacts_display_idx` indexes it. */
const sortKey = nameSortKey(sql`coalesce(${contacts.name}, ${contacts.notify}, ${contacts.verifiedName})`)

const columns = {
	jid: contacts.jid,
	pnJid: contacts.pnJid,
	lidJid: contacts.lidJid,
	name: contacts.name,
	notify: contacts.notify,
	verifiedName: contacts.verifiedName,
	imgUrl: contacts.imgUrl,
	sortKey: sortKey.as('sort_key'),
}

/** Rows as Postgres returns them (see `rawRows`). */
interface ContactRow {
	jid: string
	pn_jid: string | null
	lid_jid: string | null
	name: string | null
	notify: string | null
	verified_name: string | null
	img_url: string | null
	sort_key: string | null
}

/**
 * A contact first seen by its LID stays filed under it; once the phone-number row exists too (the
 * mapping was learnt later), that row stands for the person, as it does for chats. A primary-key
 * probe, and only for rows filed under a LID whose number is known.
 */
const notShadowed = sql`(${contacts.pnJid} is null or ${contacts.jid} = ${contacts.pnJid}
	or not exists (select 1 from session_contacts o where o.session_id = ${contacts.sessionId} and o.jid = ${contacts.pnJid}))`

/** A person is shown by their phone-number JID when it is known, whichever JID their row is filed under. */
const toContact = (c: ContactRow): Contact => ({
	jid: c.pn_jid ?? c.jid,
	pnJid: c.pn_jid,
	lidJid: c.lid_jid,
	displayName: c.name ?? c.notify ?? c.verified_name,
	name: c.name,
	notify: c.notify,
	verifiedName: c.verified_name,
	imgUrl: c.img_url,
})

const p = sql.placeholder
const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`)

export interface ContactsServiceDeps {
	db: Db
	cursors: CursorCodec
	sessions: SessionsService
}

type Search = 'none' | 'text' | 'digits'
type Range = 'named' | 'namedAfter' | 'nameless' | 'namelessAfter'

export class ContactsService {
	private readonly statements = new Map<string, ReturnType<ContactsService['build']>>()

	/** A person by either of their JIDs: the row filed under one, or naming the other. */
	private readonly one: ReturnType<ContactsService['buildOne']>

	constructor(private readonly deps: ContactsServiceDeps) {
		this.one = this.buildOne()
	}

	/** One contact, named by either JID of a person or a phone number. */
	async get(tenantId: string, jidInput: string, { sessionId }: { sessionId?: string }): Promise<Contact> {
		const jid = normalizeRecipient(jidInput)
		if (!jid || isGroupJid(jid))
			throw new InvalidInputError('INVALID_JID', 'Not a person: use a JID (…@s.whatsapp.net, …@lid) or a phone number with its country code')
		const sid = await this.deps.sessions.resolveId(tenantId, sessionId)
		const [row] = await rawRows<ContactRow>(this.one, { sid, jid })
		if (!row) throw NotFoundError.of('Contact')
		return toContact(row)
	}

	/**
	 * Contacts by the name they are shown with, then JID; contacts without any name come last.
	 * `q` filters the same index walk (a session's address book is small enough to scan).
	 */
	async list(
		tenantId: string,
		{ sessionId, q, limit = 50, cursor }: { sessionId?: string; q?: string; limit?: number; cursor?: string },
	): Promise<Page<Contact>> {
		const sid = await this.deps.sessions.resolveId(tenantId, sessionId)
		const search = q?.trim()
		const scope = `contacts:${sid}:${search ?? ''}`
		let after: { key: string | null; jid: string } | undefined
		if (cursor) {
			const [key, jid] = this.deps.cursors.decode(scope, cursor)
			after = { key: key === null ? null : cursorString(key), jid: cursorString(jid) }
		}
		const digits = search?.replace(/\D/g, '') ?? ''
		const kind: Search = !search ? 'none' : digits.length >= 3 ? 'digits' : 'text'
		const params = {
			sid,
			key: after?.key ?? null,
			jid: after?.jid ?? null,
			pattern: `%${escapeLike(search ?? '')}%`,
			folded: `%${escapeLike(foldName(search ?? ''))}%`,
			digits: `%${digits}%`,
		}

		// Named contacts, then the nameless ones (NULLS LAST), each an index range.
		let rows: ContactRow[] = []
		if (!after || after.key !== null)
			rows = await rawRows<ContactRow>(this.statement(after ? 'namedAfter' : 'named', kind, fetchSize(limit + 1)), params)
		if (rows.length <= limit) {
			const rest = fetchSize(limit + 1 - rows.length)
			rows = rows.concat(await rawRows<ContactRow>(this.statement(after && after.key === null ? 'namelessAfter' : 'nameless', kind, rest), params))
		}
		const items = rows.slice(0, limit).map(toContact)
		const last = rows.length > limit ? rows[limit - 1] : undefined
		return { items, nextCursor: last ? this.deps.cursors.encode(scope, [last.sort_key, last.jid]) : null }
	}

	/** When a person has two rows, the phone-number one first: the row the list shows (see notShadowed). */
	private buildOne() {
		return this.deps.db
			.select(columns)
			.from(contacts)
			.where(
				and(
					eq(contacts.sessionId, p('sid')),
					or(sql`${contacts.jid} = any(${jidFormsOf})`, sql`${contacts.pnJid} = any(${jidFormsOf})`, sql`${contacts.lidJid} = any(${jidFormsOf})`),
				),
			)
			.orderBy(sql`${contacts.jid} like '%@lid'`)
			.limit(1)
			.prepare('contact_one')
	}

	/** One prepared statement per range, kind of search and fetch size, built on first use. */
	private statement(range: Range, search: Search, size: number) {
		const name = `contacts_${range}_${search}_${size}`
		let statement = this.statements.get(name)
		if (!statement) this.statements.set(name, (statement = this.build(name, range, search, size)))
		return statement
	}

	private build(name: string, range: Range, search: Search, size: number) {
		const where = {
			named: isNotNull(sortKey),
			namedAfter: and(isNotNull(sortKey), sql`(${sortKey}, ${contacts.jid}) > (${p('key')}, ${p('jid')})`),
			nameless: isNull(sortKey),
			namelessAfter: and(isNull(sortKey), sql`${contacts.jid} > ${p('jid')}`),
		}[range]
		const pattern = p('pattern')
		const matches =
			search === 'none'
				? undefined
				: or(
						ilike(contacts.name, pattern),
						ilike(contacts.notify, pattern),
						ilike(contacts.verifiedName, pattern),
						// `joao` finds João: the shown name, folded as the sort key folds it.
						like(sortKey, p('folded')),
						...(search === 'digits' ? [like(contacts.jid, p('digits')), like(contacts.pnJid, p('digits')), like(contacts.lidJid, p('digits'))] : []),
					)
		return this.deps.db
			.select(columns)
			.from(contacts)
			.where(and(eq(contacts.sessionId, p('sid')), where, matches, notShadowed))
			.orderBy(asc(sortKey), asc(contacts.jid))
			.limit(literalLimit(size))
			.prepare(name)
	}
}
