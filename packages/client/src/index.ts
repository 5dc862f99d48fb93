import { type Treaty, treaty } from '@elysiajs/eden'
import type { App } from './app'

export type { App }

/** Every route of the API as typed methods: `client.sessions.post({ name }, { headers })`. */
export type Client = Treaty.Create<App>

/**
 * A client of the Switchboard API at `baseUrl` (`https://switchboard.example.com`). `config`
 * passes headers, a fetch implementation and hooks on to Eden's `treaty`.
 */
export function createClient(baseUrl: string, config?: Treaty.Config): Client {
	return treaty<App>(baseUrl, config)
}
