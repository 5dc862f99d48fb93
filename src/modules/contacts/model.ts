import { t } from 'elysia'
import { PageQuery, SessionFilter } from '../sessions/model'
import { Nullable } from '../../lib/schema'

export const Contact = t.Object({
	jid: t.String({ description: 'The phone-number JID when known, else the LID' }),
	pnJid: Nullable(t.String()),
	lidJid: Nullable(t.String()),
	displayName: Nullable(t.String({ description: 'What lists sort by: the address-book name, else the push name, else the verified business name' })),
	name: Nullable(t.String({ description: "Name in the phone's address book" })),
	notify: Nullable(t.String({ description: "The contact's own push name" })),
	verifiedName: Nullable(t.String()),
	imgUrl: Nullable(t.String()),
})

export type Contact = typeof Contact.static

export const contactsModels = {
	Contact,
	ContactPage: t.Object({ items: t.Array(Contact), nextCursor: Nullable(t.String()) }),
}

export const ContactListQuery = t.Object({
	sessionId: SessionFilter,
	q: t.Optional(
		t.String({
			minLength: 1,
			maxLength: 100,
			description: 'Case-insensitive substring of the name, push name or business name; digits also match the phone number or LID',
		}),
	),
	...PageQuery,
})

export const ContactParams = t.Object({
	jid: t.String({
		minLength: 1,
		maxLength: 320,
		description: "A person's JID (…@s.whatsapp.net or …@lid) or phone number; either form names the same contact",
	}),
})

export const ContactQuery = t.Object({ sessionId: SessionFilter })
