import { useEffect, useState } from 'preact/hooks'
import { fetchMedia } from '../lib/api'
import type { Message } from '../lib/messages'

type Media = NonNullable<Message['media']>

/**
 * A message's file: photos and stickers shown inline, audio (voice messages among it) as a player,
 * anything else as a download. The bytes come with the access token, so they are fetched and
 * handed to the page as an object URL.
 */
export function MediaView({ media }: { media: Media }) {
	const [url, setUrl] = useState<string | null>(null)
	/** The browser could not decode the file (a format it does not show, or bytes that are no image): offered as a download instead. */
	const [undecodable, setUndecodable] = useState(false)
	const inline = (media.kind === 'image' || media.kind === 'sticker') && !undecodable
	const playable = media.kind === 'audio' && !undecodable
	useEffect(() => {
		if (!(inline || playable) || media.state !== 'stored') return
		let objectUrl: string | null = null
		void fetchMedia(media.id).then((blob) => {
			if (blob) setUrl((objectUrl = URL.createObjectURL(blob)))
		})
		return () => {
			if (objectUrl) URL.revokeObjectURL(objectUrl)
		}
	}, [media.id, media.state, inline, playable])

	if (media.state !== 'stored') return <p class="muted">{media.state === 'failed' ? 'The file could not be downloaded' : 'Downloading the file…'}</p>
	if (inline)
		return url ? (
			<img
				class="media"
				src={url}
				alt={media.kind === 'sticker' ? 'Sticker' : 'Photo'}
				width={media.width}
				height={media.height}
				onError={() => setUndecodable(true)}
			/>
		) : null
	if (playable)
		return url ? (
			// biome-ignore lint/a11y/useMediaCaption: a voice message or song from a chat has no captions to offer
			<audio class="media-audio" controls src={url} aria-label={media.fileName ?? 'Audio'} onError={() => setUndecodable(true)} />
		) : null
	return (
		<button type="button" class="link" onClick={() => void download(media)}>
			Download {media.fileName ?? (media.kind === 'image' ? 'photo' : media.kind)}
			{undecodable && ' (this browser cannot show it)'}
		</button>
	)
}

async function download(media: Media) {
	const blob = await fetchMedia(media.id)
	if (!blob) return
	const a = document.createElement('a')
	a.href = URL.createObjectURL(blob)
	a.download = media.fileName ?? `${media.kind}-${media.id}`
	a.click()
	setTimeout(() => URL.revokeObjectURL(a.href), 10_000)
}
