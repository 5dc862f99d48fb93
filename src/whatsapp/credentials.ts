import { makeCacheableSignalKeyStore, type AuthenticationCreds, type SignalKeyStore } from '@whiskeysockets/baileys'
import { withTimeout } from '../lib/timeout'
import type { Logger } from '../logger'
import { StaleOwnerError, type PostgresAuthState } from './auth-state'
import type { AuthStore } from './port'
import { signalKeyCache } from './signal-key-cache'

/**
 * A session's Baileys credentials while it runs: loaded from the store, saved as Baileys changes
 * them, cleared on logout. A write the fence refuses means another runner owns the session now;
 * `onStale` hears of it. Any other failure of the store (the database away) goes to
 * `onUnavailable`, before Baileys sees the error: the keys in memory may then be ahead of the
 * stored ones (the cache takes a write before the store does), so the caller `forget`s them and
 * loads them again before the next socket.
 */
export class SessionCredentials {
	private auth?: PostgresAuthState
	private cachedKeys?: SignalKeyStore
	private cleared = false
	private saving: Promise<void> = Promise.resolve()
	private saveQueued = false

	constructor(
		private readonly store: AuthStore,
		private readonly log: Logger,
		private readonly baileysLog: Logger,
		private readonly onStale: (err: StaleOwnerError) => void,
		private readonly onUnavailable: (err: unknown) => void,
		/** A store call that takes longer fails (the database stopped answering): see `onUnavailable`. */
		private readonly timeoutMs: number,
	) {}

	get loaded(): boolean {
		return !!this.auth && !!this.cachedKeys
	}

	/** The creds object Baileys works on (and mutates in place). */
	get creds(): AuthenticationCreds | undefined {
		return this.auth?.state.creds
	}

	get keys(): SignalKeyStore | undefined {
		return this.cachedKeys
	}

	/** Linked to an account: a login needs no QR. */
	get paired(): boolean {
		return !!this.auth?.state.creds.account
	}

	async load(): Promise<void> {
		const auth = await withTimeout(this.store.load(), this.timeoutMs, 'reading the WhatsApp credentials')
		const store = auth.state.keys
		const fenced: SignalKeyStore = {
			get: async (type, ids) => {
				try {
					return await withTimeout(Promise.resolve(store.get(type, ids)), this.timeoutMs, `reading WhatsApp keys (${type})`)
				} catch (err) {
					this.failed(err)
					throw err
				}
			},
			set: async (data) => {
				try {
					await withTimeout(Promise.resolve(store.set(data)), this.timeoutMs, 'writing WhatsApp keys')
				} catch (err) {
					this.failed(err)
					throw err
				}
			},
			clear: store.clear && (() => store.clear!()),
		}
		this.auth = auth
		this.cachedKeys = makeCacheableSignalKeyStore(fenced, this.baileysLog, signalKeyCache())
		this.cleared = false
	}

	/** Baileys mutates `creds` in place before `creds.update` reaches us: save the whole object, one write at a time. */
	save(): void {
		if (this.saveQueued || this.cleared || !this.auth) return
		this.saveQueued = true
		const auth = this.auth
		this.saving = this.saving.then(async () => {
			this.saveQueued = false
			if (this.cleared || this.auth !== auth) return
			try {
				await withTimeout(auth.saveCreds(), this.timeoutMs, 'saving the WhatsApp credentials')
			} catch (err) {
				if (!(err instanceof StaleOwnerError)) this.log.error({ err }, 'saving creds failed')
				this.failed(err)
			}
		})
	}

	/** Drops what is in memory: the next `load` reads the stored state, which is what WhatsApp's redeliveries fit. */
	forget(): void {
		this.auth = undefined
		this.cachedKeys = undefined
	}

	private failed(err: unknown): void {
		if (err instanceof StaleOwnerError) this.onStale(err)
		else this.onUnavailable(err)
	}

	/** Resolves once every save asked for so far is written. */
	saved(): Promise<void> {
		return this.saving
	}

	/** Forgets the pairing, after the saves in flight. */
	async clear(): Promise<void> {
		await this.saving
		this.cleared = true
		await this.store.clear()
	}
}
