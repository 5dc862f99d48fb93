import type { Database } from '../../db/client'
import type { Logger } from '../../logger'
import type { TokenVersionCache } from './token-versions'

/** The channel on which PostgreSQL announces each removed user (migration 0003). */
export const USER_REMOVED_CHANNEL = 'switchboard_user_removed'

/**
 * Users removed from the database (by an operator, or with their tenant), as PostgreSQL announces
 * them to every instance: their cached token versions are forgotten, so they lose access at once
 * rather than when the cache entry expires, and listeners (the WebSocket hub) end what they opened.
 */
export class UserRemovals {
	/** True while notices arrive: until then, and if listening fails, token versions are read on every request. */
	following = false
	private readonly listeners = new Set<(userId: string) => void>()

	constructor(private readonly versions: Pick<TokenVersionCache, 'forget' | 'clear'>) {}

	follow(listen: Database['listen'], logger: Logger): { stop(): Promise<void> } {
		const listening = listen(
			USER_REMOVED_CHANNEL,
			(userId) => {
				this.versions.forget(userId)
				for (const listener of this.listeners) listener(userId)
			},
			() => {
				this.versions.clear()
				this.following = true
			},
		).catch((err) => {
			logger.warn({ err }, 'cannot follow user removals; token versions are read on every request')
			return null
		})
		return {
			stop: async () => {
				this.following = false
				await (await listening)?.stop()
			},
		}
	}

	onRemoved(listener: (userId: string) => void): () => void {
		this.listeners.add(listener)
		return () => this.listeners.delete(listener)
	}
}
