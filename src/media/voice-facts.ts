import { opusHeadAt } from './formats'

/** What an Ogg Opus upload's decoded audio says of it: what WhatsApp's apps show of a voice note. */
export interface VoiceFacts {
	/** Whole seconds, at least 1 for any audio with a length. */
	seconds: number | null
	/** 64 loudness samples, 0 to 100, as WhatsApp draws a voice note; null when the audio could not be decoded. */
	waveform: Uint8Array | null
}

const NONE: VoiceFacts = { seconds: null, waveform: null }

/** Types an Ogg Opus file is uploaded as. */
const OGG_TYPES = /^(audio\/(ogg|opus)|application\/ogg)$/

/** Opus always decodes at 48 kHz. */
const SAMPLE_RATE = 48_000

/** Loudness is kept per 20 ms of audio: 30,000 numbers for the longest note read. */
const WINDOW_SAMPLES = 960

/** The samples of a waveform, as WhatsApp sends them. */
const WAVEFORM_SAMPLES = 64

/**
 * Audio longer than this is not decoded further (ten minutes cost about 2.5 s of CPU, whatever
 * the bitrate: a file of 500 KB can hold them); it gets no waveform.
 */
const MAX_SECONDS = 10 * 60

/**
 * Uploads decoded at once in this process: a further one is stored without a waveform, so that
 * uploads of long notes cannot take the thread that answers requests for themselves.
 */
const MAX_DECODING = 2
let decoding = 0

/**
 * Bytes decoded at once before the event loop gets a turn: 4 KiB of Opus is 1 to 5 s of audio (at
 * 32 down to 6 kbit/s), some 4 to 25 ms of decoding. The decoder runs on the thread that answers requests.
 */
const SLICE_BYTES = 4 * 1024

/** Bytes held to tell the format (the Opus head is found within them). */
const HEAD_BYTES = 64

/**
 * Whether the Opus head announces one or two channels (its tenth byte), as a voice note has. Opus
 * allows 255, each decoded into its own buffer, which a small file could use to take hundreds of MB.
 */
function isVoiceHead(head: Uint8Array): boolean {
	const at = opusHeadAt(head)
	return at >= 0 && at + 9 < head.byteLength && head[at + 9]! <= 2
}

type Decoder = InstanceType<typeof import('ogg-opus-decoder').OggOpusDecoder>

/** The 64 samples of a loudness envelope (one mean absolute level per window), scaled so the loudest is 100. */
export function waveformOf(levels: readonly number[]): Uint8Array {
	const blocks = Array.from({ length: WAVEFORM_SAMPLES }, (_, i) => {
		const from = Math.floor((i * levels.length) / WAVEFORM_SAMPLES)
		const to = Math.max(from + 1, Math.floor(((i + 1) * levels.length) / WAVEFORM_SAMPLES))
		let sum = 0
		for (let w = from; w < to; w++) sum += levels[w] ?? 0
		return sum / (to - from)
	})
	const loudest = Math.max(...blocks)
	return new Uint8Array(blocks.map((b) => (loudest > 0 ? Math.floor((100 * b) / loudest) : 0)))
}

/**
 * Reads a voice note's length and waveform by decoding its Ogg Opus audio as the file streams
 * past (the decoder, WebAssembly, is loaded on the first such upload). Only a loudness level per
 * 20 ms is kept, never the audio. A file that is not Ogg Opus, or that does not decode, reads as
 * nothing known: these facts never fail an upload.
 */
export function voiceFactsReader(mimetype: string) {
	let done = !OGG_TYPES.test(mimetype)
	let head = new Uint8Array(0)
	let decoder: Decoder | null = null
	/** Whether this upload holds one of the `MAX_DECODING` places. */
	let holding = false
	let samples = 0
	/** Mean absolute level of channel 0 per window, and the window being filled. */
	const levels: number[] = []
	let windowSum = 0
	let windowFill = 0

	function measure(channel: Float32Array | undefined, count: number) {
		if (!channel) return
		for (let i = 0; i < count; i++) {
			windowSum += Math.abs(channel[i]!)
			if (++windowFill === WINDOW_SAMPLES) {
				levels.push(windowSum / WINDOW_SAMPLES)
				windowSum = 0
				windowFill = 0
			}
		}
		samples += count
		if (samples > MAX_SECONDS * SAMPLE_RATE) stop()
	}

	function stop() {
		done = true
		decoder?.free()
		decoder = null
		samples = 0
		if (holding) decoding--
		holding = false
	}

	async function decode(bytes: Uint8Array) {
		if (!decoder) {
			if (decoding >= MAX_DECODING) return stop()
			decoding++
			holding = true
			const { OggOpusDecoder } = await import('ogg-opus-decoder')
			decoder = new OggOpusDecoder()
			await decoder.ready
		}
		for (let at = 0; at < bytes.byteLength && !done; at += SLICE_BYTES) {
			const { channelData, samplesDecoded } = await decoder!.decode(bytes.subarray(at, at + SLICE_BYTES))
			measure(channelData[0], samplesDecoded)
			await new Promise((resolve) => setImmediate(resolve))
		}
	}

	return {
		/** Passes a chunk of the file on to the reader. */
		async push(chunk: Uint8Array) {
			if (done) return
			try {
				if (head.byteLength < HEAD_BYTES) {
					const grown = new Uint8Array(head.byteLength + chunk.byteLength)
					grown.set(head)
					grown.set(chunk, head.byteLength)
					head = grown
					if (head.byteLength < HEAD_BYTES) return
					if (!isVoiceHead(head)) return stop()
					chunk = head
				}
				await decode(chunk)
			} catch {
				stop()
			}
		},
		/** What the decoded audio said, once the whole file went past. */
		async facts(): Promise<VoiceFacts> {
			try {
				if (!done && head.byteLength && head.byteLength < HEAD_BYTES && isVoiceHead(head)) await decode(head)
				if (done || !decoder) return NONE
				const { channelData, samplesDecoded } = await decoder.flush()
				measure(channelData[0], samplesDecoded)
				if (done || !samples) return NONE
				if (windowFill) levels.push(windowSum / windowFill)
				return { seconds: Math.max(1, Math.round(samples / SAMPLE_RATE)), waveform: waveformOf(levels) }
			} catch {
				return NONE
			} finally {
				stop()
			}
		},
		/** Frees the decoder of a file that will not go past whole (refused, cut off). */
		close: stop,
	}
}
