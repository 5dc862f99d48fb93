import { describe, expect, it } from 'bun:test'
import { voiceFactsReader } from '../../src/media/voice-facts'
import { oggFixture, oggOpus } from '../helpers/formats'

/** 1.5 s of silence, then 1.5 s of a tone (see test/messages/send-kinds.test.ts). */
const note = oggFixture('voice-note')

async function read(reader: ReturnType<typeof voiceFactsReader>, bytes: Uint8Array, chunk: number) {
	for (let at = 0; at < bytes.byteLength; at += chunk) await reader.push(bytes.subarray(at, at + chunk))
	return reader.facts()
}

describe('a voice note’s facts', () => {
	it('are the same however the file is cut into chunks', async () => {
		const whole = await read(voiceFactsReader('audio/ogg'), note, note.byteLength)
		const bytes = await read(voiceFactsReader('audio/ogg'), note, 7)
		expect(whole.seconds).toBe(3)
		expect(whole.waveform).toHaveLength(64)
		expect([...bytes.waveform!]).toEqual([...whole.waveform!])
	})

	it('are nothing for another type, for Ogg without Opus, and for bytes that do not decode', async () => {
		expect(await read(voiceFactsReader('audio/mpeg'), note, 4096)).toEqual({ seconds: null, waveform: null })
		const vorbis = note.slice()
		vorbis.set(new TextEncoder().encode('OpusTail'), note.indexOf(0x4f, 28))
		expect(await read(voiceFactsReader('audio/ogg'), vorbis, 4096)).toEqual({ seconds: null, waveform: null })
		expect(await read(voiceFactsReader('audio/ogg'), oggOpus(20_000), 4096)).toEqual({ seconds: null, waveform: null })
	})

	it('are nothing for audio of more than two channels, which Opus allows up to 255 of, each decoded into its own buffer', async () => {
		// 0.3 s of a tone in six channels (sox, opusenc): it decodes, and would take six buffers.
		const six = oggFixture('six-channels')
		expect(await read(voiceFactsReader('audio/ogg'), six, 4096)).toEqual({ seconds: null, waveform: null })
	})

	it('are read for two uploads at once; a third arriving meanwhile is stored without them', async () => {
		const [first, second, third] = [voiceFactsReader('audio/ogg'), voiceFactsReader('audio/ogg'), voiceFactsReader('audio/ogg')]
		await first.push(note.subarray(0, 4096))
		await second.push(note.subarray(0, 4096))
		expect(await read(third, note, 4096)).toEqual({ seconds: null, waveform: null })
		expect((await read(first, note.subarray(4096), 4096)).seconds).toBe(3)
		expect((await read(second, note.subarray(4096), 4096)).seconds).toBe(3)
		// Their places are free again.
		expect((await read(voiceFactsReader('audio/ogg'), note, 4096)).seconds).toBe(3)
	})

	it('frees its place when the upload is given up', async () => {
		const given = [voiceFactsReader('audio/ogg'), voiceFactsReader('audio/ogg')]
		for (const reader of given) await reader.push(note.subarray(0, 4096))
		for (const reader of given) reader.close()
		expect((await read(voiceFactsReader('audio/ogg'), note, 4096)).seconds).toBe(3)
	})
})
