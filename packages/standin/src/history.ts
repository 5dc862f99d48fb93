import { randomBytes } from 'node:crypto'
import { deflateSync } from 'node:zlib'
import { proto } from '@whiskeysockets/baileys'
import { lidJid, pnJid, type Person, type StandInState } from './state'

export type HistorySyncKind = 'INITIAL_BOOTSTRAP' | 'RECENT' | 'FULL' | 'ON_DEMAND'

export interface HistoryMessage {
	id?: string
	text: string
	fromMe?: boolean
	/** Unix seconds. */
	timestamp?: number
}

export interface HistoryConversation {
	/** The contact's phone number. */
	with: string
	name?: string
	/** Oldest first, as a test writes them; the phone sends them newest first. */
	messages: HistoryMessage[]
	/** Messages the phone has not read in this chat (default 0). */
	unreadCount?: number
	archived?: boolean
}

export interface HistoryOptions {
	/** Explicit conversations; otherwise `chats` × `messagesPerChat` generated ones. */
	conversations?: HistoryConversation[]
	chats?: number
	messagesPerChat?: number
	/** Messages per chunk (one history-sync notification each). */
	chunkSize?: number
	syncType?: HistorySyncKind
	/** Name the chats by LID (with `pnJid`) instead of by phone number (with `lidJid`). */
	addressing?: 'pn' | 'lid'
}

interface Entry {
	person: Person
	name: string
	message: proto.IWebMessageInfo
	conversation: HistoryConversation
	/** The chat's newest message: its `conversationTimestamp` in every chunk. */
	newest: number
}

/**
 * History sync as the phone sends it to a new companion: chunks of `HistorySync`, zlib-compressed
 * into `initialHistBootstrapInlinePayload` of a `historySyncNotification` protocol message (so the
 * companion needs no media download). Progress runs up to 100 on the last chunk. A conversation
 * carries its name, unread count, archived flag and last activity, and its messages newest first
 * (Baileys takes the first as the chat's most recent).
 */
export function buildHistoryChunks(state: StandInState, _owner: Person, options: HistoryOptions): { chunks: proto.IMessage[]; messages: number } {
	const syncType = options.syncType ?? 'RECENT'
	const chunkSize = Math.max(1, options.chunkSize ?? 500)
	const addressing = options.addressing ?? 'pn'
	const entries = historyEntries(state, options, addressing)
	const chunkCount = Math.max(1, Math.ceil(entries.length / chunkSize))
	const chunks: proto.IMessage[] = []
	for (let index = 0; index < chunkCount; index++) {
		const slice = entries.slice(index * chunkSize, (index + 1) * chunkSize)
		const progress = Math.round(((index + 1) / chunkCount) * 100)
		const conversations = new Map<string, proto.IConversation>()
		for (const entry of slice) {
			const id = entry.message.key?.remoteJid ?? ''
			let conversation = conversations.get(id)
			if (!conversation) {
				conversation = {
					id,
					name: entry.name,
					displayName: entry.name,
					messages: [],
					unreadCount: entry.conversation.unreadCount ?? 0,
					archived: entry.conversation.archived ?? false,
					conversationTimestamp: entry.newest,
					...(addressing === 'lid' ? { pnJid: pnJid(entry.person) } : { lidJid: lidJid(entry.person) }),
				}
				conversations.set(id, conversation)
			}
			conversation.messages!.push({ message: entry.message, msgOrderId: conversation.messages!.length + 1 })
		}
		const people = new Map(slice.map((entry) => [entry.person.phone, entry.person]))
		const payload = proto.HistorySync.encode({
			syncType: proto.HistorySync.HistorySyncType[syncType],
			conversations: [...conversations.values()],
			chunkOrder: index + 1,
			progress,
			phoneNumberToLidMappings: [...people.values()].map((person) => ({ pnJid: pnJid(person), lidJid: lidJid(person) })),
			pushnames: [...people.values()].map((person) => ({ id: pnJid(person), pushname: person.name })),
		}).finish()
		const oldest = Math.min(...slice.map((entry) => Number(entry.message.messageTimestamp)))
		chunks.push({
			protocolMessage: {
				type: proto.Message.ProtocolMessage.Type.HISTORY_SYNC_NOTIFICATION,
				historySyncNotification: {
					syncType: proto.Message.HistorySyncType[syncType],
					chunkOrder: index + 1,
					progress,
					fileLength: payload.byteLength,
					oldestMsgInChunkTimestampSec: Number.isFinite(oldest) ? oldest : undefined,
					initialHistBootstrapInlinePayload: deflateSync(payload),
				},
			},
		})
	}
	return { chunks, messages: entries.length }
}

function historyEntries(state: StandInState, options: HistoryOptions, addressing: 'pn' | 'lid'): Entry[] {
	const conversations = options.conversations ?? generatedConversations(options.chats ?? 1, options.messagesPerChat ?? 10)
	const total = conversations.reduce((sum, conversation) => sum + conversation.messages.length, 0)
	const start = Math.floor(Date.now() / 1000) - total - 60
	const batch = randomBytes(4).toString('hex').toUpperCase()
	const entries: Entry[] = []
	let counter = 0
	conversations.forEach((conversation, chat) => {
		const person = state.person(conversation.with, conversation.name)
		const chatJid = addressing === 'lid' ? lidJid(person) : pnJid(person)
		const messages: proto.IWebMessageInfo[] = conversation.messages.map((message, index) => ({
			key: { remoteJid: chatJid, fromMe: !!message.fromMe, id: message.id ?? `H${batch}${chat}X${index}` },
			message: { conversation: message.text },
			messageTimestamp: message.timestamp ?? start + ++counter,
			status: message.fromMe ? proto.WebMessageInfo.Status.READ : proto.WebMessageInfo.Status.DELIVERY_ACK,
			pushName: message.fromMe ? undefined : person.name,
		}))
		const newest = Math.max(...messages.map((message) => Number(message.messageTimestamp)))
		for (const message of messages.reverse()) entries.push({ person, name: person.name, message, conversation, newest })
	})
	return entries
}

function generatedConversations(chats: number, messagesPerChat: number): HistoryConversation[] {
	return Array.from({ length: chats }, (_, chat) => ({
		with: `1555${String(chat + 1).padStart(7, '0')}`,
		name: `History contact ${chat + 1}`,
		messages: Array.from({ length: messagesPerChat }, (_, index) => ({
			text: `History message ${index + 1} in chat ${chat + 1}`,
			fromMe: index % 3 === 2,
		})),
	}))
}
