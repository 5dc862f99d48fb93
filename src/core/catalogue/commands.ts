import { Type as T, type Static, type TSchema } from '@sinclair/typebox'
import { Jid } from './shapes'

/** Content of an outgoing message; new kinds (media, reactions) join this union. */
export const SendContent = T.Union([T.Object({ text: T.String({ minLength: 1, maxLength: 65_536 }) })])
export type SendContent = Static<typeof SendContent>

/** `data` of every `session-commands` type. */
export const CommandData = {
	'session.start': T.Object({
		/** Pair by code for this number (digits, international form) instead of by QR. */
		phoneNumber: T.Optional(T.String({ pattern: '^\\d{6,20}$' })),
	}),
	'session.stop': T.Object({}),
	/** Log out and delete the credentials (session deletion). */
	'session.logout': T.Object({}),
	'session.messages.send': T.Object({
		/** Chosen by the API (Baileys format: `3EB0` + 18 upper-case hex) so a retried send is idempotent. */
		messageId: T.String({ minLength: 1, maxLength: 128 }),
		to: Jid,
		content: SendContent,
	}),
} satisfies Record<string, TSchema>

export type CommandType = keyof typeof CommandData
export type CommandDataOf<K extends CommandType> = Static<(typeof CommandData)[K]>
export const COMMAND_TYPES = Object.keys(CommandData) as CommandType[]
export const isCommandType = (type: string): type is CommandType => Object.hasOwn(CommandData, type)
