import { type Treaty, treaty } from '@elysiajs/eden'
import type { App } from './app'

export type { App }

/** Every route of the API as typed methods: `client.sessions.post({ name }, { headers })`. */
export type Client = Treaty.Create<App>

/** Answers that are data, which Eden reads itself: JSON, text, forms. */
const READ_BY_EDEN = /^(application\/json|text\/|multipart\/form-data)/

/**
 * A file (a picture, a downloaded message file) comes back as the `Response` itself, unread, as
 * its route's type says: Eden would read any other type as text, which garbles the bytes.
 */
const fileAsResponse = (response: Response) =>
	response.ok && response.status !== 204 && !READ_BY_EDEN.test(response.headers.get('content-type') ?? 'application/json') ? response : null

/**
 * A client of the Switchboard API at `baseUrl` (`https://switchboard.example.com`). `config`
 * passes headers, a fetch implementation and hooks on to Eden's `treaty`; an `onResponse` hook of
 * your own is asked first.
 */
export function createClient(baseUrl: string, config: Treaty.Config = {}): Client {
	const own = config.onResponse === undefined ? [] : Array.isArray(config.onResponse) ? config.onResponse : [config.onResponse]
	return treaty<App>(baseUrl, { ...config, onResponse: [...own, fileAsResponse] })
}
