import makeWASocket, {
	initAuthCreds,
	type Chat,
	type AuthenticationState,
	type ConnectionState,
	type SignalDataSet,
	type SignalDataTypeMap,
	type UserFacingSocketConfig,
	type WAMessage,
	type WAMessageUpdate,
	type WASocket,
} from '@whiskeysockets/baileys'
import pino from 'pino'

/** Baileys auth state kept in memory: the creds object and a map per key type. */
export function memoryAuthState(): AuthenticationState {
	const store = new Map<string, Map<string, unknown>>()
	return {
		creds: initAuthCreds(),
		keys: {
			async get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]) {
				const values: { [id: string]: SignalDataTypeMap[T] } = {}
				const bucket = store.get(type)
				for (const id of ids) {
					const value = bucket?.get(id)
					if (value !== undefined) values[id] = value as SignalDataTypeMap[T]
				}
				return values
			},
			async set(data: SignalDataSet) {
				for (const [type, entries] of Object.entries(data)) {
					let bucket = store.get(type)
					if (!bucket) store.set(type, (bucket = new Map()))
					for (const [id, value] of Object.entries(entries ?? {})) {
						if (value === null || value === undefined) bucket.delete(id)
						else bucket.set(id, value)
					}
				}
			},
		},
	}
}

export interface HistorySet {
	messages: WAMessage[]
	chats: Chat[]
	progress?: number | null
	syncType?: number | null
	chunkOrder?: number | null
}

/**
 * A bare Baileys socket pointed at the stand-in, with everything it emits recorded so a test can
 * await a condition over what happened so far. Like the session runner, it opens a new socket
 * with the same auth when the server asks for a restart (515).
 */
export class TestCompanion {
	readonly auth: AuthenticationState
	socket?: WASocket
	sockets = 0
	readonly updates: Partial<ConnectionState>[] = []
	readonly closeCodes: number[] = []
	readonly qrs: string[] = []
	readonly upserts: Array<{ message: WAMessage; type: string }> = []
	readonly histories: HistorySet[] = []
	readonly messageUpdates: WAMessageUpdate[] = []
	/** Message ids whose receipts this companion never sends, as if its socket ended first. */
	readonly withheldReceipts = new Set<string>()
	private readonly checks = new Set<() => void>()

	constructor(
		private readonly wsUrl: string,
		{ auth, config }: { auth?: AuthenticationState; config?: Partial<UserFacingSocketConfig> } = {},
	) {
		this.auth = auth ?? memoryAuthState()
		this.config = config ?? {}
	}

	private readonly config: Partial<UserFacingSocketConfig>

	get open(): boolean {
		return this.updates.findLast((update) => update.connection)?.connection === 'open'
	}

	start(): WASocket {
		const socket = makeWASocket({
			auth: this.auth,
			waWebSocketUrl: this.wsUrl,
			logger: pino({ level: process.env.BAILEYS_LOG ?? 'silent' }),
			markOnlineOnConnect: false,
			browser: ['Switchboard', 'Chrome', '1.0'],
			interceptSendNode: (node, send) => (node.tag === 'receipt' && this.withheldReceipts.has(node.attrs.id ?? '') ? Promise.resolve() : send(node)),
			...this.config,
		})
		this.socket = socket
		this.sockets++
		socket.ev.on('connection.update', (update) => {
			this.updates.push(update)
			if (update.qr) this.qrs.push(update.qr)
			if (update.connection === 'close') {
				const code = statusCode(update.lastDisconnect?.error)
				this.closeCodes.push(code)
				if (code === 515 && this.socket === socket) this.start()
			}
			this.changed()
		})
		socket.ev.on('messages.upsert', ({ messages, type }) => {
			for (const message of messages) this.upserts.push({ message, type })
			this.changed()
		})
		socket.ev.on('messaging-history.set', ({ messages, chats, progress, syncType, chunkOrder }) => {
			this.histories.push({ messages, chats, progress, syncType, chunkOrder })
			this.changed()
		})
		socket.ev.on('creds.update', () => this.changed())
		socket.ev.on('messages.update', (updates) => {
			this.messageUpdates.push(...updates)
			this.changed()
		})
		return socket
	}

	/** Resolves with the first non-undefined value of `check`, re-evaluated after every event. */
	until<T>(check: () => T | undefined | false, description: string, timeoutMs = 15_000): Promise<T> {
		const now = check()
		if (now !== undefined && now !== false) return Promise.resolve(now)
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				this.checks.delete(probe)
				reject(new Error(`timed out waiting for ${description}`))
			}, timeoutMs)
			const probe = () => {
				const value = check()
				if (value === undefined || value === false) return
				clearTimeout(timer)
				this.checks.delete(probe)
				resolve(value)
			}
			this.checks.add(probe)
		})
	}

	/** Waits until the n-th `open` (counting from the first socket). */
	untilOpen(nth = 1): Promise<true> {
		return this.until(() => this.updates.filter((update) => update.connection === 'open').length >= nth || undefined, `open #${nth}`)
	}

	/** Waits until the n-th `close` and returns its status code. */
	untilClosed(nth = 1): Promise<number> {
		return this.until(() => this.closeCodes[nth - 1], `close #${nth}`)
	}

	/** The phone's first history sync arrived and Baileys finished its initial sync. */
	untilInitialSync(): Promise<true> {
		return this.until(
			() => (this.auth.creds.accountSyncCounter > 0 && this.histories.some((set) => set.syncType === 0)) || undefined,
			'the initial history sync',
		)
	}

	untilQr(): Promise<string> {
		return this.until(() => this.qrs[0], 'a QR code')
	}

	/** The message Baileys upserted with this id, once it has. */
	messageOf(id: string): Promise<WAMessage> {
		return this.until(() => this.upserts.find(({ message }) => message.key.id === id)?.message, `message ${id}`)
	}

	/** The first `messages.update` for message `id` that `check` accepts. */
	updateOf(id: string, check: (update: WAMessageUpdate['update']) => boolean, description: string): Promise<WAMessageUpdate['update']> {
		return this.until(() => this.messageUpdates.find(({ key, update }) => key.id === id && check(update))?.update, description)
	}

	textOf(id: string): Promise<string> {
		return this.until(() => {
			const found = this.upserts.find(({ message }) => message.key.id === id)?.message.message
			return found?.conversation ?? found?.extendedTextMessage?.text ?? undefined
		}, `message ${id}`)
	}

	/**
	 * The highest status Baileys reported for one of our messages. A receipt that arrives while the
	 * send's own upsert is still buffered is folded into that upsert instead of a `messages.update`.
	 */
	status(id: string): number {
		const statuses = [
			...this.upserts.filter(({ message }) => message.key.id === id).map(({ message }) => message.status ?? 0),
			...this.messageUpdates.filter(({ key }) => key.id === id).map(({ update }) => update.status ?? 0),
		]
		return Math.max(0, ...statuses)
	}

	untilStatus(id: string, status: number): Promise<true> {
		return this.until(() => this.status(id) >= status || undefined, `status ${status} of ${id}`)
	}

	/** Stops the current socket without logging out; a later `start()` logs in again. */
	end(): void {
		const socket = this.socket
		this.socket = undefined
		socket?.end(undefined)
	}

	private changed(): void {
		for (const check of [...this.checks]) check()
	}
}

export function statusCode(error: unknown): number {
	const output = (error as { output?: { statusCode?: number } } | undefined)?.output
	return output?.statusCode ?? 0
}

/**
 * When Baileys learns a contact's LID from usync it re-fetches that contact's keys and replaces the
 * session; libsignal then prints the whole closed session with console.info. Returns the restore.
 */
export function quietLibsignal(): () => void {
	const info = console.info
	console.info = () => {}
	return () => {
		console.info = info
	}
}

/** Registers, scans the QR as `phone`, and waits for the restarted socket to open. */
export async function pairedCompanion(
	standIn: { wsUrl: string; scanQr(qr: string, phone: string, name?: string): Promise<{ jid: string }> },
	phone: string,
	name?: string,
): Promise<{ companion: TestCompanion; jid: string }> {
	const companion = new TestCompanion(standIn.wsUrl)
	companion.start()
	const { jid } = await standIn.scanQr(await companion.untilQr(), phone, name)
	await companion.untilOpen()
	return { companion, jid }
}
