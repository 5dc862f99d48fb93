import type { MediaStore } from './store'

/** Bytes read of a file to tell its format: an Ogg page header with its Opus head, a RIFF header. */
const HEAD_BYTES = 64

const ascii = (bytes: Uint8Array, at: number, text: string) => [...text].every((c, i) => bytes[at + i] === c.charCodeAt(0))

/**
 * Whether a file's first bytes are of the one format WhatsApp's apps take for it: a voice note is
 * Ogg (`OggS`) whose first page carries the Opus head (`OpusHead`), a sticker is WebP (`RIFF`, then
 * `WEBP` at byte 8).
 */
export function isFormat(format: 'voice' | 'sticker', head: Uint8Array): boolean {
	if (format === 'sticker') return ascii(head, 0, 'RIFF') && ascii(head, 8, 'WEBP')
	return opusHeadAt(head) >= 0
}

/** Where the Opus head (`OpusHead`) starts within an Ogg file's first bytes; -1 when they are not Ogg Opus. */
export function opusHeadAt(head: Uint8Array): number {
	if (!ascii(head, 0, 'OggS')) return -1
	for (let at = 4; at + 8 <= head.length; at++) if (ascii(head, at, 'OpusHead')) return at
	return -1
}

/** The first bytes of a stored object (fewer when it is shorter). */
export async function firstBytes(store: Pick<MediaStore, 'read'>, key: string): Promise<Uint8Array> {
	return new Uint8Array(await new Response(store.read(key, { start: 0, end: HEAD_BYTES - 1 })).arrayBuffer())
}
