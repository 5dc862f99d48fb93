import type { proto } from '@whiskeysockets/baileys'
import type { HistoryOptions } from './history'

export interface StandInOptions {
	/** JSON file that keeps the root key, the people and the paired devices across restarts. */
	statePath?: string
	/** Push a first history sync (and app-state keys) to a companion on its first login after pairing, as a phone does. Default true. */
	autoInitialSync?: boolean
	/** What that first history sync contains (default: nothing, one empty chunk). */
	initialHistory?: HistoryOptions
	/** A second login of the same device replaces the first (`conflict replaced`, 440), as WhatsApp does. Default true. */
	replaceDuplicateLogins?: boolean
	/** Where protocol errors go (default: console.error). */
	onError?: (message: string) => void
}

export interface DeliverOptions {
	/** The account (phone number) whose companions receive it. */
	to: string
	/** The contact's phone number. */
	from: string
	text?: string
	message?: proto.IMessage
	id?: string
	/** Unix seconds. */
	timestamp?: number
	/**
	 * The contact's push name (also remembered as its name). Not `name`: a location's and a poll's
	 * own `name` share the options of `deliverContent`.
	 */
	pushName?: string
	encryption?: 'plaintext' | 'signal'
	addressing?: 'pn' | 'lid'
	/** Stanza attributes of the message's kind (`type`, `edit`), as WhatsApp sets them. */
	attrs?: Record<string, string>
}

export interface DeliveryResult {
	id: string
	/** The chat JID the companion files it under (the contact's phone-number or LID JID). */
	chat: string
	/** Per companion: how the stanza went out, or `queued` until its next login. */
	devices: Array<{ jid: string; as: 'plaintext' | 'pkmsg' | 'msg' | 'queued' }>
}

export type ReceiptType = 'delivery' | 'read' | 'played'
export type KickMode = 'close' | 'replaced' | 'restart' | 'server-error'

export interface DeviceStats {
	jid: string
	lid: string
	phone: string
	logins: number
	live: number
	maxLive: number
	/** Ids of the messages delivered or queued to it that it has not acknowledged: it gets them again at its next login. */
	unanswered: string[]
	removed?: 'logout' | 'revoked'
}

export interface StandInStats {
	/** Registration connections, each of which got a batch of pair-device refs (one QR each). */
	registrations: number
	qrRefs: number
	pairings: number
	refusedLogins: number
	/** Logins of a device that already had a live socket (the older one is replaced: 440 on its side). */
	duplicateLogins: number
	liveConnections: number
	devices: DeviceStats[]
}
