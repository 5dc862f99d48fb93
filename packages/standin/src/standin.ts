import { randomBytes } from 'node:crypto'
import type { proto, BinaryNode } from '@whiskeysockets/baileys'
import { issueCertChain } from './certificates'
import { SERVER_JID, type Connection, type ConnectionHost } from './connection'
import { EventLog, type SentMessage } from './events'
import { appStateKeyShare, newAppStateKey } from './app-state'
import { buildHistoryChunks, type HistoryOptions } from './history'
import { GroupHub } from './groups'
import { handleIq } from './iq-handlers'
import { Mailboxes, type Outgoing } from './mailbox'
import { MediaHub } from './media/hub'
import {
	companionAddress,
	messageStanza,
	ownReadReceiptStanza,
	readReceipt,
	readSentMessage,
	receiptStanza,
	senderReceiptStanza,
	type Delivery,
} from './messages'
import { completePairing, enterPairingCode, pairDeviceNode, parseQr, registrationFrom } from './pairing'
import { PeopleHub } from './people'
import { Retries, retryBundle } from './retries'
import { normalizePhone, pnJid, StandInState, type Device } from './state'
import type { DeliverOptions, DeliveryResult, DeviceStats, KickMode, ReceiptType, StandInOptions, StandInStats } from './types'

type Deferred = { resolve: () => void; reject: (error: unknown) => void }

/**
 * The stand-in's brain: connection lifecycle, pairing, login, and the control operations. Over
 * 350 lines on purpose: every operation works on the same devices and their live connections,
 * which this class keeps private; the protocol pieces it uses live in their own files.
 */
export class StandInCore implements ConnectionHost {
	readonly state: StandInState
	readonly log = new EventLog()
	readonly certChain: Uint8Array
	readonly connections = new Set<Connection>()
	readonly sentMessages: SentMessage[] = []
	readonly counters = { registrations: 0, qrRefs: 0, pairings: 0, refusedLogins: 0, duplicateLogins: 0 }
	private readonly deviceCounters = new Map<string, { logins: number; maxLive: number }>()
	/** Logged-in connections by device (noise key): looked up for every delivery and login, so not a scan of all connections. */
	private readonly loggedIn = new Map<string, Set<Connection>>()
	private readonly mailboxes = new Mailboxes()
	private readonly retries = new Retries()
	/** Contacts' phones that are offline, by number, with what companions sent them meanwhile (WhatsApp holds it). */
	private readonly offlinePhones = new Map<string, { device: Device; node: BinaryNode }[]>()
	private readonly codePairings = new Map<Connection, Deferred>()
	readonly media: MediaHub
	readonly groups: GroupHub
	private nextNotification = 1
	readonly people: PeopleHub

	constructor(readonly options: StandInOptions = {}) {
		this.state = StandInState.open(options.statePath)
		// The server tells a companion when its prekeys run low; Baileys then uploads more.
		this.state.onPreKeysLow = (device) => {
			for (const connection of this.liveConnections(device)) {
				connection.send({
					tag: 'notification',
					attrs: { from: SERVER_JID, type: 'encrypt', id: connection.tag(), t: String(Math.floor(Date.now() / 1000)) },
					content: [{ tag: 'count', attrs: { value: String(device.preKeys.size) } }],
				})
			}
		}
		this.certChain = issueCertChain(this.state.rootKey, this.state.serverStatic)
		this.media = new MediaHub(this)
		this.groups = new GroupHub(this)
		const core = this
		this.people = new PeopleHub({
			state: this.state,
			log: this.log,
			get cdn() {
				return core.media.cdn
			},
			connectionsOf: (phone) => this.state.devicesOf(phone).flatMap((device) => this.liveConnections(device)),
		})
		this.state.flush()
	}

	get rootPublicKey(): string {
		return Buffer.from(this.state.rootKey.public).toString('base64')
	}

	// ── connection lifecycle ──────────────────────────────────────────────────────────────

	onOpen(connection: Connection): void {
		this.connections.add(connection)
		this.log.emit({ type: 'socket-opened', connectionId: connection.id, at: Date.now() })
	}

	onPayload(connection: Connection, payload: proto.ClientPayload): void {
		if (payload.devicePairingData) {
			connection.registration = registrationFrom(payload.devicePairingData)
			connection.phase = 'registering'
			this.counters.registrations++
			this.counters.qrRefs += connection.registration.refs.length
			connection.send(pairDeviceNode(connection, connection.registration.refs))
			this.log.emit({ type: 'registration', connectionId: connection.id, refs: connection.registration.refs })
			return
		}
		const username = String(payload.username ?? '')
		const device = this.state.devices.get(connection.noiseKey)
		if (!device || device.removed || device.phone !== username || device.deviceId !== (payload.device ?? 0)) {
			this.counters.refusedLogins++
			// Baileys ends the socket with this reason as its status code: 401 = logged out.
			connection.send({ tag: 'failure', attrs: { reason: '401', location: 'standin' } })
			this.log.emit({ type: 'login-refused', connectionId: connection.id, username, reason: 401 })
			return
		}
		const others = this.liveConnections(device)
		connection.device = device
		connection.phase = 'open'
		const ofDevice = this.loggedIn.get(device.noiseKey) ?? new Set()
		ofDevice.add(connection)
		this.loggedIn.set(device.noiseKey, ofDevice)
		const counters = this.countersOf(device)
		counters.logins++
		counters.maxLive = Math.max(counters.maxLive, others.length + 1)
		if (others.length) this.counters.duplicateLogins++
		if (this.options.replaceDuplicateLogins !== false) {
			for (const other of others) {
				other.send({ tag: 'stream:error', attrs: {}, content: [{ tag: 'conflict', attrs: { type: 'replaced' } }] })
				other.close()
			}
		}
		connection.send({
			tag: 'success',
			attrs: {
				t: String(Math.floor(Date.now() / 1000)),
				lid: device.lid,
				location: 'standin',
				creation: String(Math.floor(device.pairedAt / 1000)),
				props: '1',
			},
		})
		this.log.emit({ type: 'login', device: device.jid, connectionId: connection.id, live: others.length + 1 })
	}

	async onNode(connection: Connection, node: BinaryNode): Promise<void> {
		const device = connection.device
		switch (node.tag) {
			case 'iq':
				return await handleIq(this, connection, node)
			case 'message': {
				if (!device) return
				const id = node.attrs.id ?? ''
				const to = node.attrs.to ?? ''
				connection.send({ tag: 'ack', attrs: { class: 'message', id, from: to, t: String(Math.floor(Date.now() / 1000)) } })
				// A message to a chat reaches the account's phone too, which answers for it; one to the
				// account's own devices (peer: key requests, app state) is for the companions alone.
				const owner = `${device.phone}@s.whatsapp.net`
				if (node.attrs.category !== 'peer' && to !== owner) connection.send(senderReceiptStanza(owner, to, id))
				const held = this.offlinePhones.get(this.state.personByJid(to)?.phone ?? '')
				if (held) held.push({ device, node })
				else await this.receiveOnPhones(device, node)
				return
			}
			case 'receipt': {
				if (!device) return
				const receipt = readReceipt(device, node)
				const attrs: Record<string, string> = { class: 'receipt', id: receipt.id, from: receipt.to }
				if (node.attrs.type) attrs.type = node.attrs.type
				connection.send({ tag: 'ack', attrs })
				// A retry receipt asks for the message again; every other receipt answers it.
				if (receipt.type !== 'retry') this.mailboxes.answered(device, receipt.ids)
				this.log.emit({ type: 'receipt', receipt })
				if (node.attrs.type === 'server-error') await this.media.onRetryRequest(connection, node)
				if (node.attrs.type === 'retry') await this.sendAgain(device, node)
				return
			}
			case 'ack':
				// Baileys acks (or refuses) a message it will not receipt: an answer all the same.
				if (device && node.attrs.class === 'message' && node.attrs.id) this.mailboxes.answered(device, [node.attrs.id])
				return
			case 'presence':
				return this.people.onPresence(connection, node)
			case 'chatstate':
				return this.people.onChatstate(connection, node)
			default:
				// ib (unified_session, offline_batch), call: nothing to answer.
				return
		}
	}

	onClose(connection: Connection): void {
		this.connections.delete(connection)
		const ofDevice = connection.device && this.loggedIn.get(connection.device.noiseKey)
		if (ofDevice) {
			ofDevice.delete(connection)
			if (!ofDevice.size) this.loggedIn.delete(connection.device!.noiseKey)
		}
		this.codePairings.get(connection)?.reject(new Error('companion disconnected before pairing finished'))
		this.codePairings.delete(connection)
		this.log.emit({ type: 'disconnected', connectionId: connection.id, device: connection.device?.jid })
	}

	onError(connection: Connection, error: unknown): void {
		this.reportError(connection, error)
	}

	reportError(connection: Connection, error: unknown): void {
		const text = error instanceof Error ? (error.stack ?? error.message) : String(error)
		;(this.options.onError ?? console.error)(`stand-in connection ${connection.id}: ${text}`)
	}

	/**
	 * After login the server delivers what the companion has not answered yet (what an earlier
	 * socket got but never acknowledged, then what queued up while it was away), then says how much
	 * that was (`<ib><offline count/>`): Baileys holds its events until it sees that. On the first
	 * login after pairing the phone then shares app-state keys and pushes history.
	 */
	afterLogin(connection: Connection): void {
		const device = connection.device
		if (connection.postLoginDone || !device) return
		connection.postLoginDone = true
		void (async () => {
			const queued = this.mailboxes.takeForLogin(device)
			for (const item of queued) {
				connection.send('node' in item ? item.node : await messageStanza(this.state, device, item.delivery, true))
			}
			connection.send({ tag: 'ib', attrs: { from: SERVER_JID }, content: [{ tag: 'offline', attrs: { count: String(queued.length) } }] })
			if (this.options.autoInitialSync === false || device.initialSyncDone) return
			device.initialSyncDone = true
			device.appStateKey = newAppStateKey()
			this.state.save()
			const keyShare = this.selfDelivery(device.phone, appStateKeyShare(device.appStateKey))
			connection.send(await messageStanza(this.state, device, keyShare, false))
			await this.pushHistoryTo([connection], {
				to: device.phone,
				chats: 0,
				...this.options.initialHistory,
				syncType: 'INITIAL_BOOTSTRAP',
			})
		})().catch((error: unknown) => this.reportError(connection, error))
	}

	removeDevice(jid: string, reason: 'logout' | 'revoked'): Device[] {
		const devices = this.devicesFor(jid)
		for (const device of devices) {
			device.removed = reason
			this.mailboxes.forget(device)
			if (reason === 'logout') this.log.emit({ type: 'logout', device: device.jid })
		}
		this.state.save()
		return devices
	}

	// ── control operations ────────────────────────────────────────────────────────────────

	/** "Scan this QR as phone P": resolves once the companion accepted the pairing (then it restarts with 515). */
	async scanQr(qr: string, phone: string, name?: string): Promise<DeviceStats> {
		const { ref, noiseKey } = parseQr(qr)
		const connection = [...this.connections].find((candidate) => candidate.phase === 'registering' && candidate.registration?.refs.includes(ref))
		if (!connection) throw new Error('no companion is showing this QR')
		if (connection.noiseKey !== noiseKey) throw new Error('QR does not belong to that connection')
		const advSecret = Buffer.from(parseQr(qr).advSecret, 'base64')
		const device = await completePairing(this, connection, this.state.person(phone, name), advSecret)
		return this.statsOf(device)
	}

	/** Phones where a companion asked for a pairing code and waits for it to be typed in. */
	pendingPairingCodes(): string[] {
		return [...this.connections].flatMap((connection) => {
			const phone = connection.registration?.codePairing?.phone
			return phone && connection.phase === 'registering' ? [phone] : []
		})
	}

	/** "Type this pairing code on phone P": resolves once the companion accepted the pairing. */
	async enterPairingCode(phone: string, code: string, name?: string): Promise<DeviceStats> {
		const digits = normalizePhone(phone)
		const connection = [...this.connections]
			.reverse()
			.find((candidate) => candidate.phase === 'registering' && candidate.registration?.codePairing?.phone === digits)
		if (!connection) throw new Error(`no companion asked for a pairing code for ${digits}`)
		this.state.person(digits, name)
		const done = new Promise<void>((resolve, reject) => this.codePairings.set(connection, { resolve, reject }))
		await enterPairingCode(this, connection, code)
		await done
		const device = this.state.devices.get(connection.noiseKey)
		if (!device) throw new Error('pairing finished without a device')
		return this.statsOf(device)
	}

	resolveCodePairing(connection: Connection): void {
		this.codePairings.get(connection)?.resolve()
		this.codePairings.delete(connection)
	}

	rejectCodePairing(connection: Connection, error: unknown): void {
		this.codePairings.get(connection)?.reject(error)
		this.codePairings.delete(connection)
	}

	/** Delivers a message from a contact to every companion of the account; offline ones get it at their next login. */
	async deliver(options: DeliverOptions): Promise<DeliveryResult> {
		const owner = this.state.person(options.to)
		const from = this.state.person(options.from, options.pushName)
		const message = options.message ?? { conversation: options.text ?? '' }
		const delivery: Delivery = {
			id: options.id ?? newPhoneMessageId(),
			from,
			message,
			timestamp: options.timestamp ?? Math.floor(Date.now() / 1000),
			encryption: options.encryption ?? 'plaintext',
			addressing: options.addressing ?? 'pn',
			pushName: options.pushName,
			attrs: options.attrs,
		}
		this.media.remember(delivery.id, message)
		this.retries.remember(delivery)
		const devices: DeliveryResult['devices'] = []
		for (const device of this.activeDevices(owner.phone)) {
			const node = await this.sendTo(device, { delivery })
			devices.push({ jid: device.jid, as: node ? stanzaKind(node) : 'queued' })
		}
		const chat = delivery.addressing === 'lid' ? `${from.lid}@lid` : `${from.phone}@s.whatsapp.net`
		return { id: delivery.id, chat, devices }
	}

	/**
	 * Pushes a history sync to the account's live companions, one chunk at a time: the next chunk
	 * goes out when the companion has receipted the previous one, as the phone paces it.
	 */
	async pushHistory(options: HistoryOptions & { to: string }): Promise<{ chunks: number; messages: number; ids: string[] }> {
		const owner = this.state.person(options.to)
		const connections = this.activeDevices(owner.phone).flatMap((device) => this.liveConnections(device))
		if (!connections.length) throw new Error(`no companion of ${owner.phone} is connected`)
		return this.pushHistoryTo(connections, options)
	}

	private async pushHistoryTo(
		connections: Connection[],
		options: HistoryOptions & { to: string },
	): Promise<{ chunks: number; messages: number; ids: string[] }> {
		const owner = this.state.person(options.to)
		const { chunks, messages } = buildHistoryChunks(this.state, owner, options)
		const ids: string[] = []
		for (const [index, chunk] of chunks.entries()) {
			const delivery = this.selfDelivery(owner.phone, chunk)
			ids.push(delivery.id)
			const after = this.log.position
			await Promise.all(
				connections.map(async (connection) => {
					const device = connection.device
					if (!device) return
					const done = new AbortController()
					const receipted = this.log.waitFor('receipt', (event) => event.receipt.from === device.jid && event.receipt.ids.includes(delivery.id), {
						after,
						timeoutMs: 60_000,
						signal: done.signal,
					})
					const dropped = this.log
						.waitFor('disconnected', (event) => event.connectionId === connection.id, {
							timeoutMs: 60_000,
							signal: done.signal,
						})
						.then(() => Promise.reject(new Error(`${device.jid} disconnected during the history sync`)))
					receipted.catch(() => {})
					dropped.catch(() => {})
					try {
						const stanza = await messageStanza(this.state, device, delivery, false)
						this.log.emit({ type: 'history-chunk', device: device.jid, id: delivery.id, index: index + 1, count: chunks.length })
						connection.send(stanza)
						await Promise.race([receipted, dropped])
					} finally {
						done.abort()
					}
				}),
			)
		}
		return { chunks: chunks.length, messages, ids }
	}

	/**
	 * Receipts for messages the companion sent (found by id in what it sent): from the contact in a
	 * 1:1 chat; in a group from the member `from` (a phone number), named as the group names it.
	 */
	async sendReceipts(options: { ids: string[]; type?: ReceiptType; from?: string }): Promise<void> {
		const groups = new Map<string, { chat: string; phone: string; ids: string[] }>()
		for (const id of options.ids) {
			const sent = this.sentMessages.find((message) => message.id === id)
			if (!sent) throw new Error(`the companion sent no message ${id}`)
			const phone = normalizePhone(sent.from)
			const key = `${phone}|${sent.to}`
			const group = groups.get(key) ?? { chat: sent.to, phone, ids: [] }
			group.ids.push(id)
			groups.set(key, group)
		}
		for (const { chat, phone, ids } of groups.values()) {
			const node = receiptStanza(chat, ids, options.type ?? 'delivery')
			if (chat.endsWith('@g.us')) {
				const group = this.groups.get(chat)
				const from = options.from && normalizePhone(options.from)
				if (!from || !group.members.has(from)) throw new Error(`a receipt in the group ${chat} comes from one of its members: name one as \`from\``)
				node.attrs.participant = this.groups.memberJid(group, from)
			}
			for (const device of this.activeDevices(phone)) await this.sendTo(device, { node })
		}
	}

	/** The account's phone read messages the contact `from` sent it: its companions hear of it as read. */
	async readOnPhone(options: { to: string; from: string; ids: string[] }): Promise<void> {
		const owner = this.state.person(options.to)
		const node = ownReadReceiptStanza(pnJid(owner), pnJid(this.state.person(options.from)), options.ids)
		for (const device of this.activeDevices(owner.phone)) await this.sendTo(device, { node })
	}

	/** Drops the live connections of a device (JID) or of all devices of an account (phone number). */
	kick(target: string, mode: KickMode = 'close'): number {
		let count = 0
		for (const device of this.devicesFor(target)) {
			for (const connection of this.liveConnections(device)) {
				if (mode === 'replaced') {
					connection.send({ tag: 'stream:error', attrs: {}, content: [{ tag: 'conflict', attrs: { type: 'replaced' } }] })
				} else if (mode === 'restart') {
					connection.send({ tag: 'stream:error', attrs: { code: '515' } })
				} else if (mode === 'server-error') {
					connection.send({ tag: 'stream:error', attrs: { code: '503' } })
				}
				connection.close()
				count++
			}
		}
		return count
	}

	/** Unlinks a device from the phone: live sockets get `device_removed` (401), later logins fail with 401. */
	revoke(target: string): string[] {
		const devices = this.removeDevice(target, 'revoked')
		for (const device of devices) {
			for (const connection of this.liveConnections(device)) {
				connection.send({
					tag: 'stream:error',
					attrs: { code: '401' },
					content: [{ tag: 'conflict', attrs: { type: 'device_removed' } }],
				})
				connection.close()
			}
		}
		return devices.map((device) => device.jid)
	}

	stats(): StandInStats {
		return {
			...this.counters,
			liveConnections: [...this.connections].filter((connection) => connection.phase === 'open').length,
			devices: [...this.state.devices.values()].map((device) => this.statsOf(device)),
		}
	}

	statsOf(device: Device): DeviceStats {
		const counters = this.countersOf(device)
		return {
			jid: device.jid,
			lid: device.lid,
			phone: device.phone,
			logins: counters.logins,
			live: this.liveConnections(device).length,
			maxLive: counters.maxLive,
			unanswered: this.mailboxes.unanswered(device),
			removed: device.removed,
		}
	}

	/** Devices named by a device JID (phone-number or LID form) or by the account's phone number. */
	devicesFor(target: string): Device[] {
		const exact = [...this.state.devices.values()].filter((device) => device.jid === target || device.lid === target)
		if (exact.length) return exact
		if (target.includes(':')) return []
		return this.state.devicesOf(target)
	}

	liveConnections(device: Device): Connection[] {
		return [...(this.loggedIn.get(device.noiseKey) ?? [])].filter((connection) => connection.phase === 'open')
	}

	/** Sends a node to every linked companion of an account, queued for offline ones; an account without any is skipped. */
	async pushToAccount(phone: string, node: BinaryNode): Promise<void> {
		for (const device of this.state.devicesOf(phone).filter((d) => !d.removed)) await this.sendTo(device, { node })
	}

	nextTag(): string {
		return `standin-n-${this.nextNotification++}`
	}

	private activeDevices(phone: string): Device[] {
		const devices = this.state.devicesOf(phone).filter((device) => !device.removed)
		if (!devices.length) throw new Error(`no companion is linked to ${phone}`)
		return devices
	}

	/**
	 * Sends to the device's live connections, or queues for its next login (then returns undefined).
	 * A message stays in the device's mailbox until the device answers it.
	 */
	private async sendTo(device: Device, item: Outgoing): Promise<BinaryNode | undefined> {
		const live = this.liveConnections(device).filter((connection) => connection.postLoginDone)
		if (!live.length) {
			this.mailboxes.queue(device, item)
			return undefined
		}
		const node = 'node' in item ? item.node : await messageStanza(this.state, device, item.delivery, false)
		if ('delivery' in item) this.mailboxes.delivered(device, item.delivery)
		for (const connection of live) connection.send(node)
		return node
	}

	/**
	 * What a companion sent reaches the phones: they decrypt it, and a contact's phone asks again for
	 * a copy it could not decrypt (through WhatsApp: the companion gets the request at its next login
	 * when it is offline by then). The request goes once the copy is recorded, so that the copy sent
	 * again comes after it in `sent()`.
	 */
	private async receiveOnPhones(device: Device, node: BinaryNode): Promise<void> {
		const sent = await readSentMessage(this.state, device, node, this.groups)
		await this.media.inspectSent(sent)
		this.sentMessages.push(sent)
		if (this.sentMessages.length > 10_000) this.sentMessages.shift()
		this.log.emit({ type: 'sent', message: sent })
		const retry = this.retries.requestFor(this.state, sent)
		if (retry) await this.sendTo(device, { node: retry })
	}

	/**
	 * A contact's phone goes offline (what companions send it waits at WhatsApp, one tick) or comes
	 * back online, when it reads what waited, in order.
	 */
	async setPhoneOnline(phone: string, online: boolean): Promise<void> {
		const number = this.state.person(phone).phone
		const waiting = this.offlinePhones.get(number) ?? []
		if (!online) {
			this.offlinePhones.set(number, waiting)
			return
		}
		this.offlinePhones.delete(number)
		for (const { device, node } of waiting) await this.receiveOnPhones(device, node)
	}

	/**
	 * The companion could not decrypt a message a phone sent it and asks for it again: the phone sends
	 * it again, on a new session when the request carries the keys for one.
	 */
	private async sendAgain(device: Device, receipt: BinaryNode): Promise<void> {
		const delivery = this.retries.deliveryFor(receipt.attrs.id ?? '')
		if (delivery?.encryption !== 'signal') return
		const bundle = retryBundle(receipt)
		if (bundle) await delivery.from.party.restartSession(companionAddress(device), bundle)
		await this.sendTo(device, { delivery })
	}

	private selfDelivery(phone: string, message: proto.IMessage): Delivery {
		return {
			id: newPhoneMessageId(),
			from: this.state.person(phone),
			self: true,
			message,
			timestamp: Math.floor(Date.now() / 1000),
			encryption: 'plaintext',
			addressing: 'pn',
			category: 'peer',
		}
	}

	private countersOf(device: Device): { logins: number; maxLive: number } {
		let counters = this.deviceCounters.get(device.noiseKey)
		if (!counters) {
			counters = { logins: 0, maxLive: 0 }
			this.deviceCounters.set(device.noiseKey, counters)
		}
		return counters
	}
}

function stanzaKind(node: BinaryNode): 'plaintext' | 'pkmsg' | 'msg' {
	const enc = Array.isArray(node.content) ? node.content.find((child) => child.tag === 'enc') : undefined
	return enc?.attrs.type === 'pkmsg' || enc?.attrs.type === 'msg' ? enc.attrs.type : 'plaintext'
}

/** Message ids in the shape WhatsApp phones use (upper-case hex). */
function newPhoneMessageId(): string {
	return `3A${randomBytes(9).toString('hex').toUpperCase()}`
}
