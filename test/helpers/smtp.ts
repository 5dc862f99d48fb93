import { SMTPServer } from 'smtp-server'

export interface ReceivedMail {
	from: string
	to: string[]
	subject: string
	text: string
	html: string
	raw: string
}

export interface SmtpSink {
	/** `smtp://127.0.0.1:<port>`: pass it as SMTP_URL. */
	url: string
	/** Everything received so far, oldest first. */
	messages: ReceivedMail[]
	/** The oldest mail to `address` not yet taken by an earlier call; waits for it if none is there. */
	nextMailTo(address: string, timeoutMs?: number): Promise<ReceivedMail>
	/** Mails to `address` received and not yet taken. */
	pendingFor(address: string): ReceivedMail[]
	close(): Promise<void>
}

/**
 * A real SMTP server on a free local port that keeps what it receives. No TLS and no AUTH, so a
 * plain `smtp://` URL works with nodemailer's defaults.
 */
export async function startSmtpSink(): Promise<SmtpSink> {
	const messages: ReceivedMail[] = []
	const taken = new WeakSet<ReceivedMail>()
	const waiters = new Set<{ address: string; resolve: (m: ReceivedMail) => void }>()

	const deliver = (mail: ReceivedMail) => {
		messages.push(mail)
		for (const waiter of waiters) {
			if (!mail.to.includes(waiter.address) || taken.has(mail)) continue
			taken.add(mail)
			waiters.delete(waiter)
			waiter.resolve(mail)
		}
	}

	const server = new SMTPServer({
		authOptional: true,
		disabledCommands: ['AUTH', 'STARTTLS'],
		logger: false,
		onData(stream, session, callback) {
			const chunks: Buffer[] = []
			stream.on('data', (c: Buffer) => chunks.push(c))
			stream.on('end', () => {
				const raw = Buffer.concat(chunks).toString('utf8')
				const to = session.envelope.rcptTo.map((r) => r.address.toLowerCase())
				const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : ''
				deliver({ from, to, raw, ...parseMessage(raw) })
				callback()
			})
		},
	})
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
	const { port } = server.server.address() as { port: number }

	return {
		url: `smtp://127.0.0.1:${port}`,
		messages,
		pendingFor: (address) => messages.filter((m) => m.to.includes(address.toLowerCase()) && !taken.has(m)),
		nextMailTo(address, timeoutMs = 5_000) {
			const wanted = address.toLowerCase()
			const ready = messages.find((m) => m.to.includes(wanted) && !taken.has(m))
			if (ready) {
				taken.add(ready)
				return Promise.resolve(ready)
			}
			return new Promise((resolve, reject) => {
				const waiter = {
					address: wanted,
					resolve: (m: ReceivedMail) => {
						clearTimeout(timer)
						resolve(m)
					},
				}
				const timer = setTimeout(() => {
					waiters.delete(waiter)
					reject(new Error(`no mail to ${address} within ${timeoutMs} ms`))
				}, timeoutMs)
				waiters.add(waiter)
			})
		},
		close: () => new Promise<void>((resolve) => server.close(() => resolve())),
	}
}

/** Just enough MIME for what nodemailer sends: headers, one level of multipart, base64 or quoted-printable parts. */
function parseMessage(raw: string): { subject: string; text: string; html: string } {
	const { headers, body } = splitHeaders(raw)
	const subject = decodeWords(headers.subject ?? '')
	const parts: { type: string; content: string }[] = []
	const boundary = /boundary="?([^";]+)"?/i.exec(headers['content-type'] ?? '')?.[1]
	if (boundary) {
		for (const chunk of body.split(`--${boundary}`).slice(1)) {
			if (chunk.startsWith('--')) break
			const part = splitHeaders(chunk.replace(/^\r?\n/, ''))
			parts.push({ type: part.headers['content-type'] ?? 'text/plain', content: decodeBody(part.body, part.headers['content-transfer-encoding']) })
		}
	} else {
		parts.push({ type: headers['content-type'] ?? 'text/plain', content: decodeBody(body, headers['content-transfer-encoding']) })
	}
	return {
		subject,
		text: parts.find((p) => p.type.startsWith('text/plain'))?.content ?? '',
		html: parts.find((p) => p.type.startsWith('text/html'))?.content ?? '',
	}
}

function splitHeaders(raw: string): { headers: Record<string, string>; body: string } {
	const end = raw.search(/\r?\n\r?\n/)
	const head = end < 0 ? raw : raw.slice(0, end)
	const body = end < 0 ? '' : raw.slice(end).replace(/^\r?\n\r?\n/, '')
	const headers: Record<string, string> = {}
	for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
		const colon = line.indexOf(':')
		if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
	}
	return { headers, body }
}

function decodeBody(body: string, encoding = '7bit'): string {
	switch (encoding.toLowerCase()) {
		case 'base64':
			return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8')
		case 'quoted-printable':
			return decodeQuotedPrintable(body)
		default:
			return body.replace(/\r?\n$/, '')
	}
}

function decodeQuotedPrintable(s: string): string {
	const bytes: number[] = []
	const soft = s.replace(/=\r?\n/g, '')
	for (let i = 0; i < soft.length; i++) {
		if (soft[i] === '=' && /^[0-9A-F]{2}$/i.test(soft.slice(i + 1, i + 3))) {
			bytes.push(parseInt(soft.slice(i + 1, i + 3), 16))
			i += 2
		} else bytes.push(...Buffer.from(soft[i]!, 'utf8'))
	}
	return Buffer.from(bytes)
		.toString('utf8')
		.replace(/\r?\n$/, '')
}

/** RFC 2047 encoded words (`=?UTF-8?B?…?=` / `?Q?`). */
function decodeWords(s: string): string {
	return s.replace(/=\?([^?]+)\?([BQ])\?([^?]*)\?=\s*/gi, (_, _charset, enc: string, text: string) =>
		enc.toUpperCase() === 'B' ? Buffer.from(text, 'base64').toString('utf8') : decodeQuotedPrintable(text.replaceAll('_', ' ')),
	)
}
