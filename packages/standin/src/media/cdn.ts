import { createHash, randomBytes, randomInt } from 'node:crypto'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import type { BinaryNode } from '@whiskeysockets/baileys'
import type { Server } from 'bun'
import type { EventLog } from '../events'
import { issueServerCertificate, type MediaCa } from './tls'

/** A file the CDN holds, encrypted, on disk. */
export interface StoredFile {
	file: string
	size: number
}

/** One path the CDN answers: the file, or 404 / 410 while it is "expired". */
interface Route {
	blob: StoredFile
	status: 200 | 404 | 410
}

/** What the companion POSTed to `/mms/...`, kept until a message names its direct path. */
export interface Upload extends StoredFile {
	/** `image`, `video`, `audio`, `document`, … as in the upload path. */
	mediaPath: string
	/** Base64 sha256 of the body: the fileEncSha256 the companion's message should carry. */
	encSha256: string
	/** The token in the URL (url-safe base64 of fileEncSha256) matched the body. */
	tokenMatched: boolean
}

/** The object-type codes WhatsApp's direct paths carry per kind of media. */
const PATH_TYPES: Record<string, string> = {
	image: 't62.7118-24',
	video: 't62.7161-24',
	audio: 't62.7114-24',
	document: 't62.7119-24',
	sticker: 't62.15575-24',
}

export interface CdnOptions {
	dir: string
	ca: MediaCa
	/** Interface to listen on. */
	hostname: string
	port: number
	/** The name clients use to reach it (in URLs, `media_conn` and the certificate). */
	publicHostname: string
	log: EventLog
}

/**
 * The stand-in's media CDN: HTTPS with a certificate from the stand-in's own CA, because Baileys
 * always builds `https://{host}{directPath}`. Downloads stream from disk with a Content-Length and
 * honour `Range` (Baileys asks for one when given a start or end byte); uploads stream to disk.
 */
export class MediaCdn {
	private server?: Server<undefined>
	private readonly routes = new Map<string, Route>()
	private readonly uploads = new Map<string, Upload>()
	private readonly authTokens = new Set<string>()
	private nextFile = 1

	constructor(private readonly options: CdnOptions) {}

	/** `host:port` as it appears in media URLs. */
	get host(): string {
		if (!this.server) throw new Error('the media CDN is not running')
		return `${this.options.publicHostname}:${this.server.port}`
	}

	start(): void {
		const tls = issueServerCertificate(this.options.ca, [this.options.publicHostname])
		this.server = Bun.serve({
			port: this.options.port,
			hostname: this.options.hostname,
			tls,
			// Documents may be up to 2 GB on WhatsApp; the body is streamed to disk, never buffered.
			maxRequestBodySize: 2 ** 31,
			fetch: (request) => this.handle(request),
		})
	}

	async stop(): Promise<void> {
		await this.server?.stop(true)
		this.server = undefined
	}

	/** A fresh file name in the CDN's directory. */
	newFile(suffix: string): string {
		return join(this.options.dir, `${this.nextFile++}-${randomBytes(4).toString('hex')}.${suffix}`)
	}

	/** Serves `blob` at a new direct path; `status` 404 or 410 makes it "expired" until `republish`. */
	publish(blob: StoredFile, mediaType: string, status: Route['status'] = 200): { directPath: string; url: string } {
		const directPath = newDirectPath(mediaType)
		this.routes.set(pathOf(directPath), { blob, status })
		return { directPath, url: this.urlOf(directPath) }
	}

	/** The phone's re-upload: the same file at a new direct path (the old one stays as it was). */
	republish(directPath: string, mediaType: string): { directPath: string; url: string } {
		const route = this.routes.get(pathOf(directPath))
		if (!route) throw new Error(`the CDN has nothing at ${directPath}`)
		return this.publish(route.blob, mediaType)
	}

	statusOf(directPath: string): number {
		return this.routes.get(pathOf(directPath))?.status ?? 404
	}

	setStatus(directPath: string, status: Route['status']): void {
		const route = this.routes.get(pathOf(directPath))
		if (!route) throw new Error(`the CDN has nothing at ${directPath}`)
		route.status = status
	}

	upload(directPath: string): Upload | undefined {
		return this.uploads.get(pathOf(directPath))
	}

	/** The answer to `<iq xmlns="w:m"><media_conn/>`: an auth token and this CDN as the upload host. */
	mediaConnNode(): BinaryNode {
		const auth = randomBytes(24).toString('base64url')
		this.authTokens.add(auth)
		return {
			tag: 'media_conn',
			attrs: { auth, ttl: '3600', auth_ttl: '21600', max_buckets: '12' },
			content: [{ tag: 'host', attrs: { hostname: this.host, maxContentLengthBytes: String(2 ** 31) } }],
		}
	}

	urlOf(directPath: string): string {
		return `https://${this.host}${directPath}&mms3=true`
	}

	private async handle(request: Request): Promise<Response> {
		const url = new URL(request.url)
		if (request.method === 'POST' && url.pathname.startsWith('/mms/')) return await this.receiveUpload(request, url)
		if (request.method !== 'GET' && request.method !== 'HEAD') return new Response(null, { status: 405 })
		const route = this.routes.get(url.pathname)
		const status = route?.status ?? 404
		this.options.log.emit({ type: 'media-download', path: url.pathname, status, range: request.headers.get('range') ?? undefined })
		if (!route || status !== 200) return new Response(null, { status })
		return serveFile(route.blob, request.headers.get('range'))
	}

	/** `POST /mms/{type}/{token}?auth=…&token=…`: the body is the encrypted file; the token its url-safe base64 sha256. */
	private async receiveUpload(request: Request, url: URL): Promise<Response> {
		const [, , mediaPath = '', token = ''] = url.pathname.split('/')
		if (!this.authTokens.has(url.searchParams.get('auth') ?? '')) return Response.json({ error: 'bad auth' }, { status: 401 })
		if (!request.body) return Response.json({ error: 'empty body' }, { status: 400 })
		const file = this.newFile('upload')
		const hash = createHash('sha256')
		const handle = await open(file, 'w')
		let size = 0
		try {
			for await (const chunk of request.body) {
				hash.update(chunk)
				size += chunk.byteLength
				await handle.write(chunk)
			}
		} finally {
			await handle.close()
		}
		const digest = hash.digest()
		const tokenMatched = digest.toString('base64url') === decodeURIComponent(token)
		this.options.log.emit({ type: 'media-upload', path: url.pathname, size, tokenMatched })
		// WhatsApp refuses a body whose hash is not the token it was announced with.
		if (!tokenMatched) return Response.json({ error: 'hash mismatch' }, { status: 400 })
		const blob = { file, size }
		const { directPath, url: mediaUrl } = this.publish(blob, mediaPath)
		this.uploads.set(pathOf(directPath), { ...blob, mediaPath, encSha256: digest.toString('base64'), tokenMatched })
		return Response.json({ url: mediaUrl, direct_path: directPath })
	}
}

/** A 200 with the whole file, or a 206 for one `bytes=start-end` range; Bun streams the file from disk. */
function serveFile(blob: StoredFile, range: string | null): Response {
	const file = Bun.file(blob.file)
	const headers = { 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' }
	const match = range ? /^bytes=(\d*)-(\d*)$/.exec(range.trim()) : null
	if (!match) return new Response(file, { headers: { ...headers, 'content-length': String(blob.size) } })
	const [, first = '', last = ''] = match
	// "bytes=-N" asks for the last N bytes.
	const start = first === '' ? Math.max(0, blob.size - Number(last)) : Number(first)
	const end = first !== '' && last !== '' ? Math.min(Number(last), blob.size - 1) : blob.size - 1
	if (start >= blob.size || start > end) {
		return new Response(null, { status: 416, headers: { ...headers, 'content-range': `bytes */${blob.size}` } })
	}
	return new Response(file.slice(start, end + 1), {
		status: 206,
		headers: { ...headers, 'content-length': String(end - start + 1), 'content-range': `bytes ${start}-${end}/${blob.size}` },
	})
}

/** A direct path shaped like WhatsApp's (`/v/t62.7118-24/…_n.enc?ccb=…&oh=…&oe=…&_nc_sid=…`). */
function newDirectPath(mediaType: string): string {
	const type = PATH_TYPES[mediaType] ?? PATH_TYPES.image
	const name = `${randomInt(10 ** 7, 10 ** 8)}_${randomInt(10 ** 14, 2 ** 48)}_${randomInt(10 ** 14, 2 ** 48)}_n.enc`
	const expires = (Math.floor(Date.now() / 1000) + 30 * 24 * 3600).toString(16).toUpperCase()
	return `/v/${type}/${name}?ccb=11-4&oh=01_${randomBytes(24).toString('base64url')}&oe=${expires}&_nc_sid=5e03e0`
}

/** The CDN answers by path alone; the query (`oh`, `oe`) is WhatsApp's signature, not checked here. */
function pathOf(directPath: string): string {
	return directPath.split('?')[0] ?? directPath
}
