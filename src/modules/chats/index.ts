import { OPTIONAL_BODY } from '../../plugins/openapi'
import { Elysia, t } from 'elysia'
import { jsonResponse } from '../../lib/json'
import type { AuthPlugin } from '../../plugins/auth'
import { errorModel, errorResponses } from '../../plugins/error-model'
import { sessionsModels } from '../sessions/model'
import { ChatListQuery, ChatMessageParams, ChatParams, chatsModels, DeleteQuery, IdempotencyHeaders, SessionQuery } from './model'
import type { MessageActions } from '../messages/actions'
import type { MessagesService } from '../messages/service'
import type { ChatsService } from './service'

export interface ChatsModuleDeps {
	chats: ChatsService
	messages: MessagesService
	actions: MessageActions
	authPlugin: AuthPlugin
}

const SESSION_FILTER_HELP =
	"`sessionId` defaults to the account's only session (400 `SESSION_REQUIRED` when it has several; 404 for another account's session)."

export const chatsModule = ({ chats, messages, actions, authPlugin }: ChatsModuleDeps) =>
	new Elysia({ name: 'chats', prefix: '/chats', tags: ['chats'] })
		.use(errorModel)
		.use(authPlugin)
		.model({ ...chatsModels, MessageAccepted: sessionsModels.MessageAccepted })
		.get('', async ({ tenantId, query }) => jsonResponse(await chats.listChats(tenantId, query)), {
			auth: 'messages:read',
			query: ChatListQuery,
			response: { 200: 'ChatPage', ...errorResponses(400, 401, 403, 404) },
			detail: {
				summary: 'Chats by last activity, newest first',
				description: `Keyset pagination: pass \`nextCursor\` back as \`cursor\` (400 \`INVALID_CURSOR\` for anything else); it is null on the last page. ${SESSION_FILTER_HELP}`,
			},
		})
		.get('/:jid', async ({ tenantId, params, query }) => jsonResponse(await chats.getChat(tenantId, params.jid, query)), {
			auth: 'messages:read',
			params: ChatParams,
			query: SessionQuery,
			response: { 200: 'Chat', ...errorResponses(400, 401, 403, 404) },
			detail: {
				summary: 'One chat, as the list shows it',
				description: `Its \`displayName\`, unread count and newest message. The phone-number JID, the LID and the phone number of a person give the same chat. 400 \`INVALID_JID\`; 404 when the session has no such chat. ${SESSION_FILTER_HELP}`,
			},
		})
		.get('/:jid/messages', async ({ tenantId, params, query }) => jsonResponse(await chats.listMessages(tenantId, params.jid, query)), {
			auth: 'messages:read',
			params: ChatParams,
			query: ChatListQuery,
			response: { 200: 'MessagePage', ...errorResponses(400, 401, 403, 404) },
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
				auth: 'messages:send',
				params: ChatParams,
				query: SessionQuery,
				headers: IdempotencyHeaders,
				body: 'ChatMessage',
				response: { 202: 'MessageAccepted', ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422) },
				detail: {
					summary: 'Send a message to a chat',
					description: `As POST /sessions/:id/messages with the chat's JID (or a phone number) as recipient. ${SESSION_FILTER_HELP}`,
				},
			},
		)
		.patch(
			'/:jid/messages/:messageId',
			async ({ tenantId, params, query, body, status }) =>
				status(202, await actions.edit(tenantId, params.jid, params.messageId, query.sessionId, body.text)),
			{
				auth: 'messages:send',
				params: ChatMessageParams,
				query: SessionQuery,
				body: 'EditMessage',
				response: { 202: 'MessageAccepted', ...errorResponses(400, 401, 403, 404, 409, 413, 415) },
				detail: {
					summary: 'Edit an own text message',
					description: `WhatsApp shows the new text, marked edited; the message's \`text\` and \`editedAt\` follow with \`session.messages.update\`. 400 \`INVALID_TEXT\` (blank); 409 \`NOT_OWN_MESSAGE\`, \`MESSAGE_NOT_EDITABLE\` (not text), \`MESSAGE_DELETED\`, \`EDIT_WINDOW_CLOSED\` (over 15 minutes old) or \`SESSION_NOT_CONNECTED\`; 404 \`MESSAGE_NOT_FOUND\`. ${SESSION_FILTER_HELP}`,
				},
			},
		)
		.delete(
			'/:jid/messages/:messageId',
			async ({ tenantId, params, query, status }) => {
				if (query.for === 'me') {
					await actions.deleteForMe(tenantId, params.jid, params.messageId, query.sessionId)
					return status(204, undefined)
				}
				return status(202, await actions.deleteForEveryone(tenantId, params.jid, params.messageId, query.sessionId))
			},
			{
				auth: 'messages:send',
				params: ChatMessageParams,
				query: DeleteQuery,
				response: { 202: 'MessageAccepted', 204: t.Void(), ...errorResponses(400, 401, 403, 404, 409) },
				detail: {
					summary: 'Delete a message for everyone, or from Switchboard only',
					description: `For everyone (default; own messages, up to 60 hours old): 202, and the message turns \`revoked\` with \`session.messages.update\`; deleting it again answers 202 and sends nothing, as does a repeat within a minute of the delete that went out (a retry). 409 \`NOT_OWN_MESSAGE\`, \`DELETE_WINDOW_CLOSED\` or \`SESSION_NOT_CONNECTED\`. \`?for=me\`: 204, the message and its file's record leave Switchboard's store; WhatsApp and the phone keep it. ${SESSION_FILTER_HELP}`,
				},
			},
		)
		.post(
			'/:jid/read',
			async ({ tenantId, params, query, body, status }) =>
				status(202, await actions.markRead(tenantId, params.jid, query.sessionId, body?.messageId)),
			{
				auth: 'messages:send',
				params: ChatParams,
				query: SessionQuery,
				body: 'MarkRead',
				response: { 202: 'ReadAccepted', ...errorResponses(400, 401, 403, 404, 409, 413, 415) },
				detail: {
					[OPTIONAL_BODY]: true,
					summary: 'Mark received messages read and send read receipts',
					description: `Up to \`messageId\` (default: the newest), at most the latest 1,000 unread. The senders see blue ticks; the messages turn \`read\` and the chat's \`unreadCount\` 0 with \`session.messages.update\` and \`session.chats.upsert\`. ${SESSION_FILTER_HELP}`,
				},
			},
		)
