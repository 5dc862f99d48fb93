import { Elysia } from 'elysia'
import { jsonResponse } from '../../lib/json'
import type { AuthPlugin } from '../../plugins/auth'
import { errorModel } from '../../plugins/errors'
import { sessionsModels } from '../sessions/model'
import { ChatListQuery, ChatParams, chatsModels, IdempotencyHeaders, SessionQuery } from './model'
import type { MessagesService } from '../messages/service'
import type { ChatsService } from './service'

export interface ChatsModuleDeps {
	chats: ChatsService
	messages: MessagesService
	authPlugin: AuthPlugin
}

const SESSION_FILTER_HELP =
	"`sessionId` defaults to the account's only session (400 `SESSION_REQUIRED` when it has several; 404 for another account's session)."

export const chatsModule = ({ chats, messages, authPlugin }: ChatsModuleDeps) =>
	new Elysia({ name: 'chats', prefix: '/chats', tags: ['chats'] })
		.use(errorModel)
		.use(authPlugin)
		.model({ ...chatsModels, MessageAccepted: sessionsModels.MessageAccepted })
		.guard({ auth: true })
		.get('', async ({ tenantId, query }) => jsonResponse(await chats.listChats(tenantId, query)), {
			query: ChatListQuery,
			response: { 200: 'ChatPage', 400: 'Error', 401: 'Error', 404: 'Error' },
			detail: {
				summary: 'Chats by last activity, newest first',
				description: `Keyset pagination: pass \`nextCursor\` back as \`cursor\` (400 \`INVALID_CURSOR\` for anything else); it is null on the last page. ${SESSION_FILTER_HELP}`,
			},
		})
		.get('/:jid/messages', async ({ tenantId, params, query }) => jsonResponse(await chats.listMessages(tenantId, params.jid, query)), {
			params: ChatParams,
			query: ChatListQuery,
			response: { 200: 'MessagePage', 400: 'Error', 401: 'Error', 404: 'Error' },
			detail: {
				summary: 'Messages of a chat, newest first',
				description: `The phone-number JID and the LID of a person give the same messages. 400 \`INVALID_JID\`; 404 when the session has no such chat. Keyset pagination as for GET /chats. ${SESSION_FILTER_HELP}`,
			},
		})
		.post(
			'/:jid/messages',
			async ({ tenantId, params, query, body, headers, status }) =>
				status(202, await messages.sendToChat(tenantId, params.jid, query.sessionId, body, headers['idempotency-key'])),
			{
				params: ChatParams,
				query: SessionQuery,
				headers: IdempotencyHeaders,
				body: 'ChatMessage',
				response: { 202: 'MessageAccepted', 400: 'Error', 401: 'Error', 404: 'Error', 409: 'Error', 413: 'Error', 415: 'Error', 422: 'Error' },
				detail: {
					summary: 'Send a text message to a chat',
					description: `As POST /sessions/:id/messages with the chat's JID (or a phone number) as recipient. ${SESSION_FILTER_HELP}`,
				},
			},
		)
