/** Minimal files of the ISO media family (MP4), box by box, for what reads their headers. */

const u32 = (n: number) => {
	const b = new Uint8Array(4)
	new DataView(b.buffer).setUint32(0, n)
	return b
}
const u64 = (n: number) => {
	const b = new Uint8Array(8)
	new DataView(b.buffer).setBigUint64(0, BigInt(n))
	return b
}
const ascii = (s: string) => new TextEncoder().encode(s)
const concat = (parts: Uint8Array[]) => {
	const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
	let at = 0
	for (const p of parts) {
		out.set(p, at)
		at += p.byteLength
	}
	return out
}

/** A box: its size, type and content; `large` writes the size as 64 bits (size field 1). */
export const box = (type: string, content: Uint8Array[] = [], large = false) => {
	const body = concat(content)
	return large ? concat([u32(1), ascii(type), u64(16 + body.byteLength), body]) : concat([u32(8 + body.byteLength), ascii(type), body])
}

/** A movie header: timescale and duration in its units, in 32 bits (version 0) or 64 (version 1). */
const mvhd = (timescale: number, duration: number, version: 0 | 1) =>
	version === 1
		? box('mvhd', [u32(0x01000000), u64(0), u64(0), u32(timescale), u64(duration), new Uint8Array(80)])
		: box('mvhd', [u32(0), u32(0), u32(0), u32(timescale), u32(duration), new Uint8Array(80)])

/** A track header (version 0) with the picture's size and a matrix turning it by `degrees`. */
const tkhd = (width: number, height: number, degrees: 0 | 90) => {
	const one = 0x10000
	const matrix = degrees === 90 ? [0, one, 0, -one, 0, 0, 0, 0, 0x40000000] : [one, 0, 0, 0, one, 0, 0, 0, 0x40000000]
	return box('tkhd', [
		u32(0x00000003),
		u32(0),
		u32(0),
		u32(1),
		u32(0),
		u32(0),
		new Uint8Array(8),
		new Uint8Array(8),
		concat(matrix.map((m) => u32(m >>> 0))),
		u32(width * one),
		u32(height * one),
	])
}

const trak = (handler: string, size: [number, number], degrees: 0 | 90 = 0) =>
	box('trak', [tkhd(size[0], size[1], degrees), box('mdia', [box('hdlr', [u32(0), u32(0), ascii(handler), new Uint8Array(12)])])])

export interface Mp4Options {
	seconds: number
	width: number
	height: number
	/** The movie header's `moov` after the media data (as cameras write it) rather than before. */
	moovLast?: boolean
	/** A quarter turn: a phone held upright. */
	degrees?: 0 | 90
	/** Bytes of media data. */
	dataBytes?: number
	/** 64-bit sizes and times. */
	large?: boolean
}

/** An MP4 with a sound track first and a video track second, as phones write them. */
export function mp4({ seconds, width, height, moovLast = false, degrees = 0, dataBytes = 50_000, large = false }: Mp4Options): Uint8Array {
	const timescale = 600
	const moov = box('moov', [mvhd(timescale, seconds * timescale, large ? 1 : 0), trak('soun', [0, 0]), trak('vide', [width, height], degrees)])
	const mdat = box('mdat', [new Uint8Array(dataBytes).fill(7)], large)
	const ftyp = box('ftyp', [ascii('isom'), u32(512), ascii('isomiso2mp41')])
	return concat(moovLast ? [ftyp, mdat, moov] : [ftyp, moov, mdat])
}
