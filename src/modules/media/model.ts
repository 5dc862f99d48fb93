import { MEDIA_STATES } from '../../core/media'
import { t } from 'elysia'
import { UuidInput } from '../../lib/schema'

export const MediaUploaded = t.Object({
	id: t.String({ description: 'Pass it as `mediaId` to a send', examples: ['0197f0c2-3a4b-7c5d-8e9f-0a1b2c3d4e5f'] }),
	mimetype: t.String({ examples: ['image/jpeg'] }),
	size: t.Integer({ description: 'Bytes' }),
	sha256: t.String({ description: 'SHA-256 of the bytes, hex' }),
	seconds: t.Optional(
		t.Integer({
			description:
				"A video's length, from its headers (MP4, QuickTime, 3GPP), or an Ogg Opus file's, from its audio; sent with the video or voice note",
		}),
	),
	width: t.Optional(t.Integer({ description: "A video's picture width as shown, from its headers; sent with the video" })),
	height: t.Optional(t.Integer({ description: "A video's picture height as shown, from its headers; sent with the video" })),
	waveform: t.Optional(
		t.String({
			description:
				"An Ogg Opus file's 64 loudness samples (0 to 100), base64, from its decoded audio: the waveform WhatsApp's apps draw when it is sent as a voice note",
		}),
	),
})
export type MediaUploaded = typeof MediaUploaded.static

export const MediaDownload = t.Object({
	id: t.String(),
	state: t.UnionEnum(MEDIA_STATES, { description: 'The state now; `session.media.updated` tells when it is stored or failed' }),
})

export const mediaModels = { MediaUploaded, MediaDownload }

export const MediaParams = t.Object({ id: UuidInput() })
