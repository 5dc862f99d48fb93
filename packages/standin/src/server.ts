import type { Server } from 'bun'
import { Connection, type SocketData } from './connection'
import { handleControlRequest } from './control-http'
import { groupControl, type GroupControl } from './group-control'
import type { CompanionReceipt, SentMessage, StandInEvent } from './events'
import type { HistoryOptions } from './history'
import { mediaControl, type MediaControl } from './media/control'
import { peopleControl, type PeopleControl } from './people-control'
import { StandInCore } from './standin'
import { normalizePhone } from './state'
import type { DeliverOptions, DeliveryResult, DeviceStats, KickMode, ReceiptType, StandInOptions, StandInStats } from './types'

export const CHAT_PATH = '/ws/chat'

export interface StartOptions extends StandInOptions {
	port?: number
	hostname?: string
	/** Port of the HTTPS media CDN (default: any free port). */
	mediaPort?: number
	/** The host name clients reach the CDN by, in media URLs and its certificate (default: the listen address, 127.0.0.1 for 0.0.0.0). */
	mediaHost?: string
}

/** A running stand-in: the in-process control API (the HTTP routes call the same methods). */
export interface StandIn extends MediaControl, GroupControl, PeopleControl {
	/** Give this to Baileys as `waWebSocketUrl` (the `WA_WEBSOCKET_URL` setting). */
	readonly wsUrl: string
	/** Base URL of the HTTP control routes (`/control/...`). */
	readonly httpUrl: string
	/** Base64 root public key for Baileys' `WA_CERT_DETAILS.PUBLIC_KEY` (the server's `WA_ROOT_PUBLIC_KEY` setting). */
	readonly rootPublicKey: string
	readonly core: StandInCore
	scanQr(qr: string, phone: string, name?: string): Promise<DeviceStats>
	enterPairingCode(phone: string, code: string, name?: string): Promise<DeviceStats>
	deliverText(options: Omit<DeliverOptions, 'encryption'> & { text: string }): Promise<DeliveryResult>
	deliverEncrypted(options: Omit<DeliverOptions, 'encryption'>): Promise<DeliveryResult>
	deliver(options: DeliverOptions): Promise<DeliveryResult>
	pushHistory(options: HistoryOptions & { to: string }): Promise<{ chunks: number; messages: number; ids: string[] }>
	sendReceipts(options: { ids: string[]; type?: ReceiptType; from?: string }): Promise<void>
	/** The account's phone read messages it received from `from` (a phone number): its companions see them read. */
	readOnPhone(options: { to: string; from: string; ids: string[] }): Promise<void>
	kick(target: string, mode?: KickMode): number
	revoke(target: string): string[]
	/**
	 * The person's phone loses its Signal sessions with every companion, as a phone restored without
	 * them: what a companion sends on an old session no longer decrypts, and the phone asks for it again.
	 */
	forgetSessions(phone: string): void
	/**
	 * The person's phone goes offline: what companions send it waits at WhatsApp (one tick) until it
	 * is back online, when it reads it, and asks for what it cannot decrypt.
	 */
	setPhoneOnline(phone: string, online: boolean): Promise<void>
	stats(): StandInStats
	/** Stats of one device (JID) or of the only device of an account (phone number). */
	device(target: string): DeviceStats
	/** Message stanzas the companions sent, optionally only those of one account (phone number). */
	sent(phone?: string): SentMessage[]
	/** The LID JID the stand-in gave a phone number (`<lid>@lid`). */
	lidOf(phone: string): string
	waitForRegistration(options?: WaitOptions): Promise<Extract<StandInEvent, { type: 'registration' }>>
	waitForLogin(device: string, options?: WaitOptions): Promise<Extract<StandInEvent, { type: 'login' }>>
	waitForSent(predicate: (message: SentMessage) => boolean, options?: WaitOptions): Promise<SentMessage>
	waitForReceipt(predicate: (receipt: CompanionReceipt) => boolean, options?: WaitOptions): Promise<CompanionReceipt>
	waitForLogout(device: string, options?: WaitOptions): Promise<void>
	waitForDisconnect(device: string, options?: WaitOptions): Promise<void>
	/** The event log's current position: pass as `after` to wait only for later events. */
	readonly position: number
	stop(): Promise<void>
}

export interface WaitOptions {
	after?: number
	timeoutMs?: number
}

export async function startStandIn(options: StartOptions = {}): Promise<StandIn> {
	const core = new StandInCore(options)
	const server: Server<SocketData> = Bun.serve<SocketData>({
		port: options.port ?? 0,
		hostname: options.hostname ?? '127.0.0.1',
		fetch(request, server) {
			const url = new URL(request.url)
			if (url.pathname === CHAT_PATH) {
				if (server.upgrade(request, { data: {} })) return undefined
				return new Response('expected a WebSocket', { status: 400 })
			}
			return handleControlRequest(api, request)
		},
		websocket: {
			// History chunks and offline backlogs can be large; never drop, let Bun buffer.
			backpressureLimit: 64 * 1024 * 1024,
			maxPayloadLength: 16 * 1024 * 1024,
			idleTimeout: 0,
			open(socket) {
				const connection = new Connection(socket, core.state.serverStatic, core.certChain, core)
				socket.data.connection = connection
				core.onOpen(connection)
			},
			message(socket, data) {
				if (typeof data === 'string') return
				socket.data.connection?.receive(data)
			},
			close(socket) {
				socket.data.connection?.closed()
			},
		},
	})
	const host = `${server.hostname}:${server.port}`
	const listen = options.hostname ?? '127.0.0.1'
	core.media.start({
		hostname: listen,
		port: options.mediaPort ?? 0,
		publicHostname: options.mediaHost ?? (listen === '0.0.0.0' ? '127.0.0.1' : listen),
		statePath: options.statePath,
	})
	const wait = <T extends StandInEvent['type']>(
		type: T,
		predicate: (event: Extract<StandInEvent, { type: T }>) => boolean,
		waitOptions?: WaitOptions,
	) => core.log.waitFor(type, predicate, waitOptions)

	const api: StandIn = {
		...mediaControl(core),
		...groupControl(core),
		...peopleControl(core),
		wsUrl: `ws://${host}${CHAT_PATH}`,
		httpUrl: `http://${host}`,
		rootPublicKey: core.rootPublicKey,
		core,
		scanQr: (qr, phone, name) => core.scanQr(qr, phone, name),
		enterPairingCode: (phone, code, name) => core.enterPairingCode(phone, code, name),
		deliverText: (deliverOptions) => core.deliver({ ...deliverOptions, encryption: 'plaintext' }),
		deliverEncrypted: (deliverOptions) => core.deliver({ ...deliverOptions, encryption: 'signal' }),
		deliver: (deliverOptions) => core.deliver(deliverOptions),
		pushHistory: (historyOptions) => core.pushHistory(historyOptions),
		sendReceipts: (receiptOptions) => core.sendReceipts(receiptOptions),
		readOnPhone: (readOptions) => core.readOnPhone(readOptions),
		kick: (target, mode) => core.kick(target, mode),
		revoke: (target) => core.revoke(target),
		setPhoneOnline: (phone, online) => core.setPhoneOnline(phone, online),
		forgetSessions(phone) {
			core.state.person(phone).party.forgetSessions()
			core.state.save()
		},
		stats: () => core.stats(),
		device(target) {
			const [device, ...more] = core.devicesFor(target)
			if (!device || more.length) throw new Error(`'${target}' names ${device ? 'several devices' : 'no device'}`)
			return core.statsOf(device)
		},
		sent: (phone) => (phone ? core.sentMessages.filter((message) => normalizePhone(message.from) === normalizePhone(phone)) : [...core.sentMessages]),
		lidOf: (phone) => `${core.state.person(phone).lid}@lid`,
		waitForRegistration: (waitOptions) => wait('registration', () => true, waitOptions),
		waitForLogin: (device, waitOptions) => wait('login', (event) => matches(core, device, event.device), waitOptions),
		async waitForSent(predicate, waitOptions) {
			return (await wait('sent', (event) => predicate(event.message), waitOptions)).message
		},
		async waitForReceipt(predicate, waitOptions) {
			return (await wait('receipt', (event) => predicate(event.receipt), waitOptions)).receipt
		},
		async waitForLogout(device, waitOptions) {
			await wait('logout', (event) => matches(core, device, event.device), waitOptions)
		},
		async waitForDisconnect(device, waitOptions) {
			await wait('disconnected', (event) => !!event.device && matches(core, device, event.device), waitOptions)
		},
		get position() {
			return core.log.position
		},
		async stop() {
			await server.stop(true)
			await core.media.stop()
			core.state.flush()
		},
	}
	return api
}

/** A device JID matches itself; a phone number matches every device of that account. */
function matches(core: StandInCore, target: string, deviceJid: string): boolean {
	return core.devicesFor(target).some((device) => device.jid === deviceJid)
}
