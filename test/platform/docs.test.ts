import { describe, expect, test } from 'bun:test'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'

/**
 * The README and docs/ are what a newcomer reads first: a link to a file or heading that is not
 * there, or a table that renders a row of dashes, is a defect like any other.
 */

const root = join(import.meta.dir, '..', '..')
const files = [
	'README.md',
	...readdirSync(join(root, 'docs'))
		.filter((f) => f.endsWith('.md'))
		.map((f) => join('docs', f)),
]

/** The text outside fenced code blocks, line by line (code examples hold `|` and `[x](y)` that are not markdown). */
function proseLines(file: string): string[] {
	let fenced = false
	return readFileSync(join(root, file), 'utf8')
		.split('\n')
		.map((line) => {
			if (/^\s*```/.test(line)) {
				fenced = !fenced
				return ''
			}
			return fenced ? '' : line
		})
}

/** Heading anchors as GitHub makes them: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(file: string): Set<string> {
	const seen = new Map<string, number>()
	const out = new Set<string>()
	for (const line of proseLines(file)) {
		const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)
		if (!heading) continue
		const slug = heading[1]!
			.replace(/`/g, '')
			.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
			.toLowerCase()
			.replace(/[^\p{L}\p{N}\s_-]/gu, '')
			.replace(/\s/g, '-')
		const n = seen.get(slug) ?? 0
		seen.set(slug, n + 1)
		out.add(n ? `${slug}-${n}` : slug)
	}
	return out
}

const isSeparator = (line: string) => /^\|(\s*:?-{3,}:?\s*\|)+\s*$/.test(line)
const cells = (line: string) =>
	line
		.replace(/\\\|/g, '')
		.replace(/`[^`]*`/g, 'code')
		.split('|').length - 2

describe('the documentation', () => {
	test.each(files)('%s: every relative link names a file and heading that exist', (file) => {
		const broken: string[] = []
		for (const line of proseLines(file)) {
			for (const [, target] of line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
				if (/^[a-z]+:/i.test(target!)) continue
				const [path, anchor] = target!.split('#') as [string, string | undefined]
				const linked = path ? relative(root, join(dirname(join(root, file)), path)) : file
				if (!existsSync(join(root, linked))) broken.push(`${target} (no file ${linked})`)
				else if (anchor !== undefined && linked.endsWith('.md') && !anchors(linked).has(anchor))
					broken.push(`${target} (no heading #${anchor} in ${linked})`)
			}
		}
		expect(broken).toEqual([])
	})

	test.each(files)('%s: every table has one separator row, under its header, and as many cells in each row', (file) => {
		const wrong: string[] = []
		const lines = proseLines(file)
		lines.forEach((line, i) => {
			if (!line.startsWith('|')) return
			const first = !lines[i - 1]?.startsWith('|')
			if (first && !isSeparator(lines[i + 1] ?? '')) wrong.push(`line ${i + 1}: a table without a separator under its header`)
			if (!first && isSeparator(line) && lines[i - 2]?.startsWith('|')) wrong.push(`line ${i + 1}: a second separator row`)
			if (!first && cells(line) !== cells(lines[i - 1]!)) wrong.push(`line ${i + 1}: ${cells(line)} cells, the row above has ${cells(lines[i - 1]!)}`)
		})
		expect(wrong).toEqual([])
	})
})

describe('docs/messages.md, Messages in events', () => {
	/** The fenced blocks of the section, by language. */
	const section = readFileSync(join(root, 'docs', 'messages.md'), 'utf8')
		.split('\n## Messages in events\n')[1]!
		.split('\n## ')[0]!
	const blocks = (lang: string) => [...section.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\\n\`\`\``, 'g'))].map((m) => m[1]!)

	test('the example body is a valid session.messages.upsert, and the REST message beside it is what its mapping gives', async () => {
		const { validateEnvelope } = await import('../../src/core/catalogue')
		const { canonicalJid } = await import('../../src/core/jid')
		const { messageStatusName } = await import('../../src/core/message-status')
		const [body, rest] = blocks('json').map((b) => JSON.parse(b))
		// The WebSocket and webhooks send the stream position as `id` and the envelope's own id as `eventId`.
		const { eventId, ...envelope } = body
		const checked = validateEnvelope({ ...envelope, id: eventId })
		expect(checked).toMatchObject({ ok: true })
		const [m] = body.data.messages
		expect(rest).toMatchObject({
			id: m.key.id,
			chatJid: canonicalJid(m.key.remoteJid, m.key.remoteJidAlt),
			fromMe: m.key.fromMe,
			senderPn: m.key.remoteJidAlt,
			senderLid: m.key.remoteJid,
			pushName: m.pushName,
			timestamp: new Date(m.timestamp * 1000).toISOString(),
			seq: m.seq,
			type: m.type,
			text: m.text,
			status: messageStatusName(m.status),
			kind: m.kind,
		})
	})

	test('its mapping function gives the same as the REST example', () => {
		const [code] = blocks('ts')
		const js = new Bun.Transpiler({ loader: 'ts' }).transformSync(code!)
		const asRest = new Function(`${js}\nreturn asRest`)()
		const [body, rest] = blocks('json').map((b) => JSON.parse(b))
		const mapped = asRest(body.data.messages[0])
		expect(Object.keys(mapped)).toEqual(['id', 'chatJid', 'fromMe', 'sender', 'timestamp', 'status'])
		expect(rest).toMatchObject(mapped)
		// A group message from a member named by LID: the sender is their phone-number JID when given.
		const inGroup = {
			key: { remoteJid: '120363000000000001@g.us', fromMe: false, id: 'X', participant: '1@lid', participantAlt: '2@s.whatsapp.net' },
		}
		expect(asRest({ ...inGroup, timestamp: 0, status: 5 })).toMatchObject({
			chatJid: '120363000000000001@g.us',
			sender: '2@s.whatsapp.net',
			status: 'played',
		})
	})
})
