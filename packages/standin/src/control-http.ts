import { handleGroupRoute } from './group-control-http'
import { handleMediaRoute, NAME_IS_NOT_PUSH_NAME } from './media/control-http'
import { handlePeopleRoute } from './people-control'
import type { StandIn } from './server'
import type { KickMode, ReceiptType } from './types'

/**
 * The stand-in's HTTP control routes (JSON in, JSON out), the same operations as the in-process
 * API. They live on the stand-in's own port, beside the WebSocket path.
 */
export async function handleControlRequest(standIn: StandIn, request: Request): Promise<Response> {
	const url = new URL(request.url)
	const route = `${request.method} ${url.pathname}`
	try {
		const body = request.method === 'POST' ? ((await request.json().catch(() => ({}))) as Record<string, unknown>) : {}
		switch (route) {
			case 'GET /':
			case 'GET /control':
				return json({
					wsUrl: standIn.wsUrl,
					rootPublicKey: standIn.rootPublicKey,
					mediaUrl: standIn.mediaUrl,
					mediaCaFile: standIn.mediaCa.path,
					pendingPairingCodes: standIn.core.pendingPairingCodes(),
					...standIn.stats(),
				})
			case 'GET /control/sent':
				return json(standIn.sent(url.searchParams.get('phone') ?? undefined))
			case 'POST /control/scan':
				return json(await standIn.scanQr(text(body.qr, 'qr'), text(body.phone, 'phone'), optional(body.name)))
			case 'POST /control/pairing-code':
				return json(await standIn.enterPairingCode(text(body.phone, 'phone'), text(body.code, 'code'), optional(body.name)))
			case 'POST /control/messages':
				if (body.name !== undefined) throw new Error(NAME_IS_NOT_PUSH_NAME)
				return json(
					await standIn.deliver({
						to: text(body.to, 'to'),
						from: text(body.from, 'from'),
						text: text(body.text, 'text'),
						id: optional(body.id),
						pushName: optional(body.pushName),
						encryption: body.encrypted === true ? 'signal' : 'plaintext',
						addressing: body.lid === true ? 'lid' : 'pn',
					}),
				)
			case 'POST /control/history':
				return json(
					await standIn.pushHistory({
						to: text(body.to, 'to'),
						chats: number(body.chats),
						messagesPerChat: number(body.messagesPerChat),
						chunkSize: number(body.chunkSize),
						addressing: body.lid === true ? 'lid' : 'pn',
					}),
				)
			case 'POST /control/receipts': {
				const ids = Array.isArray(body.ids) ? body.ids.map(String) : [text(body.id, 'ids')]
				await standIn.sendReceipts({ ids, type: (optional(body.type) ?? 'delivery') as ReceiptType, from: optional(body.from) })
				return json({ ok: true })
			}
			case 'POST /control/read': {
				const ids = Array.isArray(body.ids) ? body.ids.map(String) : [text(body.id, 'ids')]
				await standIn.readOnPhone({ to: text(body.to, 'to'), from: text(body.from, 'from'), ids })
				return json({ ok: true })
			}
			case 'POST /control/kick':
				return json({ kicked: standIn.kick(text(body.target, 'target'), (optional(body.mode) ?? 'close') as KickMode) })
			case 'POST /control/revoke':
				return json({ revoked: standIn.revoke(text(body.target, 'target')) })
			default:
				return (
					(await handleMediaRoute(standIn, request, body)) ??
					(await handleGroupRoute(standIn, request, body)) ??
					(await handlePeopleRoute(standIn, route, body)) ??
					json({ error: `no route ${route}` }, 404)
				)
		}
	} catch (error) {
		return json({ error: error instanceof Error ? error.message : String(error) }, 400)
	}
}

function json(value: unknown, status = 200): Response {
	return new Response(JSON.stringify(value, null, 2), { status, headers: { 'content-type': 'application/json' } })
}

function text(value: unknown, name: string): string {
	if (typeof value !== 'string' || !value) throw new Error(`'${name}' is required`)
	return value
}

function optional(value: unknown): string | undefined {
	return typeof value === 'string' && value ? value : undefined
}

function number(value: unknown): number | undefined {
	return typeof value === 'number' && Number.isFinite(value) ? value : undefined
}
