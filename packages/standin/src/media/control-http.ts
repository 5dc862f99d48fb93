import { proto } from '@whiskeysockets/baileys'
import type { StandIn } from '../server'
import type { ContentSpec, DeliverContentOptions, ReuploadResult } from './types'

const KINDS = new Set<string>([
	'image',
	'video',
	'gif',
	'audio',
	'voice',
	'document',
	'sticker',
	'location',
	'live-location',
	'contacts',
	'reaction',
	'reply',
	'edit',
	'delete',
	'poll',
	'poll-vote',
])
const REUPLOAD_RESULTS = new Set(['SUCCESS', 'NOT_FOUND', 'DECRYPTION_ERROR', 'GENERAL_ERROR'])

/**
 * The HTTP control routes of the media and content operations; `undefined` when the route is not
 * one of them. Bytes travel as base64 (`data`, `jpegThumbnail`, `waveform`, `secret`), or a big file
 * as a `path` on the stand-in's machine; message contents (`quotedMessage`, `message`) as proto JSON.
 */
export async function handleMediaRoute(standIn: StandIn, request: Request, body: Record<string, unknown>): Promise<Response | undefined> {
	const url = new URL(request.url)
	const kind = /^\/control\/messages\/([a-z-]+)$/.exec(url.pathname)?.[1]
	if (request.method === 'POST' && kind) {
		if (!KINDS.has(kind)) throw new Error(`no message kind '${kind}'`)
		return Response.json(await standIn.deliverContent(contentOptions(kind, body)))
	}
	const sentMedia = /^\/control\/sent\/([^/]+)\/media$/.exec(url.pathname)?.[1]
	if (request.method === 'GET' && sentMedia) {
		const id = decodeURIComponent(sentMedia)
		const sent = standIn.sent().find((message) => message.id === id)
		const bytes = await standIn.readSentMedia(id)
		return new Response(bytes, { headers: { 'content-type': sent?.media?.mimetype ?? 'application/octet-stream' } })
	}
	if (request.method === 'POST' && url.pathname === '/control/media/expire') {
		const status = body.status === 404 ? 404 : 410
		standIn.expireMedia(required(body.id, 'id'), status)
		return Response.json({ ok: true, status })
	}
	if (request.method === 'POST' && url.pathname === '/control/media/reupload') {
		const result = required(body.result, 'result')
		if (!REUPLOAD_RESULTS.has(result)) throw new Error(`'result' must be one of ${[...REUPLOAD_RESULTS].join(', ')}`)
		standIn.setReupload(required(body.id, 'id'), result as ReuploadResult)
		return Response.json({ ok: true })
	}
	return undefined
}

/** A caller that sends the sender's push name as `name` is told so, rather than ignored. */
export const NAME_IS_NOT_PUSH_NAME = "'name' is a location's or a poll's own; the sender's push name is 'pushName'"

/** The kinds with a `name` of their own: a location's place, a poll's question. */
const NAMED_KINDS = new Set(['location', 'poll'])

/**
 * The JSON body as `deliverContent` options: the common fields, then the kind's own fields as
 * given. The sender's push name is `pushName`; `name` is only ever the location's or poll's.
 */
function contentOptions(kind: string, body: Record<string, unknown>): DeliverContentOptions {
	const { to, from, pushName, id, timestamp, lid, encrypted, data, path, ...fields } = body
	if (fields.name !== undefined && !NAMED_KINDS.has(kind)) throw new Error(NAME_IS_NOT_PUSH_NAME)
	const spec: Record<string, unknown> = { ...fields, kind }
	if (data !== undefined || path !== undefined) spec.file = typeof path === 'string' ? path : bytes(data, 'data')
	for (const field of ['jpegThumbnail', 'waveform', 'secret'] as const) {
		if (spec[field] !== undefined) spec[field] = bytes(spec[field], field)
	}
	for (const field of ['quotedMessage', 'message'] as const) {
		if (spec[field] !== undefined) spec[field] = proto.Message.fromObject(spec[field] as Record<string, unknown>)
	}
	return {
		to: required(to, 'to'),
		from: required(from, 'from'),
		pushName: typeof pushName === 'string' && pushName ? pushName : undefined,
		id: typeof id === 'string' ? id : undefined,
		timestamp: typeof timestamp === 'number' ? timestamp : undefined,
		addressing: lid === true ? 'lid' : 'pn',
		encryption: encrypted === false ? 'plaintext' : 'signal',
		...(spec as ContentSpec),
	}
}

function required(value: unknown, name: string): string {
	if (typeof value !== 'string' || !value) throw new Error(`'${name}' is required`)
	return value
}

function bytes(value: unknown, name: string): Buffer {
	if (typeof value !== 'string') throw new Error(`'${name}' must be base64 (bytes travel as base64 over HTTP)`)
	return Buffer.from(value, 'base64')
}
