import { describe, expect, it } from 'bun:test'
import { videoFactsReader } from '../../src/media/video-facts'
import { box, mp4 } from '../helpers/mp4'

/** Reads `file` as an upload streams it: in chunks of `size` bytes. */
function read(file: Uint8Array, mimetype = 'video/mp4', size = 4096) {
	const reader = videoFactsReader(mimetype)
	for (let at = 0; at < file.byteLength; at += size) reader.push(file.subarray(at, at + size))
	return reader.facts()
}

describe("a video's facts read from its headers", () => {
	it('reads the length and the video track’s size, the moov before or after the media data', () => {
		for (const moovLast of [false, true])
			expect(read(mp4({ seconds: 42, width: 1280, height: 720, moovLast }))).toEqual({ seconds: 42, width: 1280, height: 720 })
	})

	it('reads headers split anywhere: one byte at a time', () => {
		expect(read(mp4({ seconds: 3, width: 640, height: 360, moovLast: true, dataBytes: 3000 }), 'video/mp4', 1)).toEqual({
			seconds: 3,
			width: 640,
			height: 360,
		})
	})

	it('reads 64-bit sizes and times', () => {
		expect(read(mp4({ seconds: 7, width: 320, height: 240, moovLast: true, large: true }))).toEqual({ seconds: 7, width: 320, height: 240 })
	})

	it('swaps the sides of a track turned a quarter (a phone held upright)', () => {
		expect(read(mp4({ seconds: 5, width: 1920, height: 1080, degrees: 90 }))).toEqual({ seconds: 5, width: 1080, height: 1920 })
	})

	it('reads QuickTime and 3GPP files, and nothing of other types', () => {
		const file = mp4({ seconds: 9, width: 480, height: 270 })
		expect(read(file, 'video/quicktime').seconds).toBe(9)
		expect(read(file, 'video/3gpp').seconds).toBe(9)
		expect(read(file, 'video/webm')).toEqual({ seconds: null, width: null, height: null })
	})

	it('reads nothing, and never throws, from bytes that are not such a file or are cut short', () => {
		const none = { seconds: null, width: null, height: null }
		expect(read(crypto.getRandomValues(new Uint8Array(60_000)))).toEqual(none)
		expect(read(new Uint8Array(0))).toEqual(none)
		const whole = mp4({ seconds: 4, width: 200, height: 100, moovLast: true })
		expect(read(whole.subarray(0, whole.byteLength - 10))).toEqual(none)
		// A moov whose children claim more than it holds.
		expect(read(box('moov', [box('mvhd', [new Uint8Array(4)]), new Uint8Array([0, 0, 0, 200, 116, 114, 97, 107])]))).toEqual(none)
	})
})
