import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/** Random bytes under a real format's first bytes: what the API checks of a voice note or a sticker. */
function under(head: string, at: number, size: number): Uint8Array {
	const bytes = randomBytes(size)
	bytes.set(new TextEncoder().encode(head), at)
	return bytes
}

/** An Ogg page header carrying the Opus head, as a voice note starts. */
export const oggOpus = (size: number) => {
	const bytes = under('OggS', 0, size)
	bytes.set(new TextEncoder().encode('OpusHead'), 28)
	return bytes
}

/** A RIFF header of a WebP image, as a sticker starts. */
export const webp = (size: number) => {
	const bytes = under('RIFF', 0, size)
	bytes.set(new TextEncoder().encode('WEBP'), 8)
	return bytes
}

/** A real Ogg Opus file of test/fixtures/media, made with sox and opusenc. */
export const oggFixture = (name: 'voice-note' | 'six-channels') =>
	new Uint8Array(readFileSync(join(import.meta.dir, `../fixtures/media/${name}.ogg`)))
