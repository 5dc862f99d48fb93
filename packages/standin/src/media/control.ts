import type { StandInEvent } from '../events'
import type { WaitOptions } from '../server'
import type { StandInCore } from '../standin'
import type { ContentDeliveryResult, DeliverContentOptions, ReuploadResult } from './types'

/** The media and content operations of a running stand-in (part of `StandIn`). */
export interface MediaControl {
	/** Base URL of the HTTPS media CDN (`https://host:port`). */
	readonly mediaUrl: string
	/**
	 * The CA that issued the CDN's certificate: its PEM, and the file it is written to. A process
	 * trusts it with `NODE_EXTRA_CA_CERTS=<path>` at start; a test can pass `pem` as `fetch`'s `tls.ca`.
	 */
	readonly mediaCa: { pem: string; path: string }
	/** Delivers a message of any kind (image, video, gif, audio, voice, document, sticker, location, …); see `ContentSpec`. */
	deliverContent(options: DeliverContentOptions): Promise<ContentDeliveryResult>
	/** The CDN answers `status` (default 410) for a delivered message's file until a re-upload request is answered. */
	expireMedia(id: string, status?: 404 | 410): void
	/** What the phone answers to the next re-upload request for a message. */
	setReupload(id: string, result: ReuploadResult): void
	/** The decrypted bytes of a file a companion uploaded and sent (message id). */
	readSentMedia(id: string): Promise<Uint8Array>
	/** Resolves when a companion asked for a message's media again and got its answer. */
	waitForMediaRetry(id: string, options?: WaitOptions): Promise<Extract<StandInEvent, { type: 'media-retry' }>>
}

export function mediaControl(core: StandInCore): MediaControl {
	return {
		mediaUrl: `https://${core.media.cdn.host}`,
		mediaCa: { pem: core.media.ca.cert, path: core.media.caPath },
		deliverContent: (options) => core.media.deliverContent(options),
		expireMedia: (id, status) => core.media.expire(id, status),
		setReupload: (id, result) => core.media.setReupload(id, result),
		readSentMedia: async (id) => new Uint8Array(await core.media.sentMediaFile(id).arrayBuffer()),
		waitForMediaRetry: (id, options) => core.log.waitFor('media-retry', (event) => event.id === id, options),
	}
}
