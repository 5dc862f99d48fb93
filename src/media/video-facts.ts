/** What a video file's headers say of it; null where they say nothing. */
export interface VideoFacts {
	/** Whole seconds, at least 1 for any video with a length. */
	seconds: number | null
	/** The picture as it is shown: a track turned a quarter (a phone held upright) has its sides swapped. */
	width: number | null
	height: number | null
}

/** The types read: the ISO media file family (MP4, QuickTime, 3GPP). */
const ISO_VIDEO = new Set(['video/mp4', 'video/quicktime', 'video/3gpp', 'video/3gpp2', 'video/x-m4v'])

/** A `moov` box larger than this is not read (its headers come first, but a huge one is not worth holding). */
const MOOV_MAX_BYTES = 8 * 1024 * 1024

const NONE: VideoFacts = { seconds: null, width: null, height: null }

const typeOf = (bytes: Uint8Array, at: number) => String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!)

/** The child boxes of a box's content: type, where its content starts and ends. */
function* boxes(view: DataView, start: number, end: number): Generator<{ type: string; from: number; to: number }> {
	let at = start
	while (at + 8 <= end) {
		let size = view.getUint32(at)
		let header = 8
		if (size === 1) {
			if (at + 16 > end) return
			size = Number(view.getBigUint64(at + 8))
			header = 16
		} else if (size === 0) size = end - at
		if (size < header || at + size > end) return
		yield { type: typeOf(new Uint8Array(view.buffer, view.byteOffset), at + 4), from: at + header, to: at + size }
		at += size
	}
}

/** Length from the movie header (`mvhd`): version 1 has 64-bit times, version 0 32-bit. */
function movieSeconds(view: DataView, from: number, to: number): number | null {
	const v1 = view.getUint8(from) === 1
	if (from + (v1 ? 32 : 20) > to) return null
	const timescale = view.getUint32(from + (v1 ? 20 : 12))
	const duration = v1 ? Number(view.getBigUint64(from + 24)) : view.getUint32(from + 16)
	if (!timescale || !duration || duration === 0xffffffff) return null
	return Math.max(1, Math.round(duration / timescale))
}

/** The picture's size from a track header (`tkhd`), turned as its matrix turns it. */
function trackSize(view: DataView, from: number, to: number): { width: number; height: number } | null {
	const matrixAt = from + (view.getUint8(from) === 1 ? 52 : 40)
	if (matrixAt + 44 > to) return null
	const width = Math.round(view.getUint32(matrixAt + 36) / 65536)
	const height = Math.round(view.getUint32(matrixAt + 40) / 65536)
	if (!width || !height) return null
	// The matrix's first entry is 0 when the track turns by a quarter (90° or 270°).
	const quarter = view.getInt32(matrixAt) === 0 && Math.abs(view.getInt32(matrixAt + 4)) === 65536
	return quarter ? { width: height, height: width } : { width, height }
}

/** The first video track's size: a `trak` whose handler (`mdia` › `hdlr`) is `vide`. */
function videoSize(view: DataView, from: number, to: number): { width: number; height: number } | null {
	for (const trak of boxes(view, from, to)) {
		if (trak.type !== 'trak') continue
		let size: { width: number; height: number } | null = null
		let video = false
		for (const box of boxes(view, trak.from, trak.to)) {
			if (box.type === 'tkhd') size = trackSize(view, box.from, box.to)
			if (box.type === 'mdia')
				for (const inner of boxes(view, box.from, box.to))
					if (inner.type === 'hdlr' && inner.from + 12 <= inner.to)
						video = typeOf(new Uint8Array(view.buffer, view.byteOffset), inner.from + 8) === 'vide'
		}
		if (video && size) return size
	}
	return null
}

function readMoov(moov: Uint8Array): VideoFacts {
	const view = new DataView(moov.buffer, moov.byteOffset, moov.byteLength)
	let seconds: number | null = null
	for (const box of boxes(view, 0, moov.byteLength)) if (box.type === 'mvhd') seconds = movieSeconds(view, box.from, box.to)
	const size = videoSize(view, 0, moov.byteLength)
	return { seconds, width: size?.width ?? null, height: size?.height ?? null }
}

/**
 * Reads a video's length and picture size from its headers as the file streams past, for types of
 * the ISO media family (others read as nothing known). Only the `moov` box is held; the media data
 * is skipped, so a file whose `moov` comes last costs no more memory. A file it cannot read reads
 * as nothing known: these facts never fail an upload.
 */
export function videoFactsReader(mimetype: string) {
	let done = !ISO_VIDEO.has(mimetype)
	/** Bytes still to skip of the current top-level box. */
	let skip = 0
	/** A top-level box header being collected across chunks. */
	let header = new Uint8Array(0)
	let moov: { bytes: Uint8Array; filled: number } | null = null
	let facts = NONE

	function take(chunk: Uint8Array) {
		let at = 0
		while (!done && at < chunk.byteLength) {
			if (moov) {
				const n = Math.min(moov.bytes.byteLength - moov.filled, chunk.byteLength - at)
				moov.bytes.set(chunk.subarray(at, at + n), moov.filled)
				moov.filled += n
				at += n
				if (moov.filled === moov.bytes.byteLength) {
					facts = readMoov(moov.bytes)
					done = true
				}
				continue
			}
			if (skip) {
				const n = Math.min(skip, chunk.byteLength - at)
				skip -= n
				at += n
				continue
			}
			const need = header.byteLength >= 8 && new DataView(header.buffer).getUint32(0) === 1 ? 16 : 8
			const n = Math.min(need - header.byteLength, chunk.byteLength - at)
			const grown = new Uint8Array(header.byteLength + n)
			grown.set(header)
			grown.set(chunk.subarray(at, at + n), header.byteLength)
			header = grown
			at += n
			if (header.byteLength < need || (need === 8 && new DataView(header.buffer).getUint32(0) === 1)) continue
			const view = new DataView(header.buffer)
			const size = need === 16 ? Number(view.getBigUint64(8)) : view.getUint32(0)
			const type = typeOf(header, 4)
			header = new Uint8Array(0)
			// A box that runs to the end of the file (size 0) is the last: the moov was not before it.
			if (size === 0 || size < need) done = true
			else if (type === 'moov') {
				if (size - need > MOOV_MAX_BYTES) done = true
				else moov = { bytes: new Uint8Array(size - need), filled: 0 }
			} else skip = size - need
		}
	}

	return {
		/** Passes a chunk of the file on to the reader. */
		push(chunk: Uint8Array) {
			if (done) return
			try {
				take(chunk)
			} catch {
				done = true
			}
		},
		/** What the headers said, once the whole file went past. */
		facts: (): VideoFacts => facts,
	}
}
