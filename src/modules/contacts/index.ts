import { Elysia } from 'elysia'
import { jsonResponse } from '../../lib/json'
import type { AuthPlugin } from '../../plugins/auth'
import { errorModel, errorResponses } from '../../plugins/error-model'
import { ContactListQuery, ContactParams, ContactQuery, contactsModels } from './model'
import type { ContactsService } from './service'

export interface ContactsModuleDeps {
	contacts: ContactsService
	authPlugin: AuthPlugin
}

export const contactsModule = ({ contacts, authPlugin }: ContactsModuleDeps) =>
	new Elysia({ name: 'contacts', prefix: '/contacts', tags: ['contacts'] })
		.use(errorModel)
		.use(authPlugin)
		.model(contactsModels)
		.get('', async ({ tenantId, query }) => jsonResponse(await contacts.list(tenantId, query)), {
			auth: 'messages:read',
			query: ContactListQuery,
			response: { 200: 'ContactPage', ...errorResponses(400, 401, 403, 404) },
			detail: {
				summary: 'Contacts by name',
				description:
					"Sorted by the name a contact is shown with, case-insensitively; contacts without a name come last. `q` searches names and, with 3+ digits, numbers. Keyset pagination: pass `nextCursor` back as `cursor` (with the same `q`). `sessionId` defaults to the account's only session (400 `SESSION_REQUIRED` when it has several).",
			},
		})
		.get('/:jid', async ({ tenantId, params, query }) => jsonResponse(await contacts.get(tenantId, params.jid, query)), {
			auth: 'messages:read',
			params: ContactParams,
			query: ContactQuery,
			response: { 200: 'Contact', ...errorResponses(400, 401, 403, 404) },
			detail: {
				summary: 'One contact',
				description:
					"A person the session knows, with the name it is shown with, whether or not there is a chat with them yet. Their phone-number JID, their LID and their phone number give the same contact. 400 `INVALID_JID` (a group is not a contact); 404 when the session knows no such person. `sessionId` defaults to the account's only session (400 `SESSION_REQUIRED` when it has several).",
			},
		})
