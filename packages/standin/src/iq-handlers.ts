import { getAllBinaryNodeChildren, type BinaryNode } from '@whiskeysockets/baileys'
import { answerAppStateSync } from './app-state'
import { SERVER_JID, type Connection } from './connection'
import { completePairing, finishCodePairing, startCodePairing } from './pairing'
import { answerEncrypt } from './prekeys'
import type { StandInCore } from './standin'
import { answerUsync } from './usync'

/** Privacy settings as a fresh account has them; `readreceipts: all` makes Baileys send `read` receipts. */
const PRIVACY = { last: 'all', online: 'all', profile: 'all', status: 'all', groupadd: 'all', readreceipts: 'all', calladd: 'all', messages: 'all' }

/** Answers every iq a companion sends; unknown namespaces get an empty result so no query hangs. */
export async function handleIq(core: StandInCore, connection: Connection, iq: BinaryNode): Promise<void> {
	// Answers to our own iqs that nobody awaits (pair-device) need no answer either.
	if (iq.attrs.type === 'result' || iq.attrs.type === 'error') return
	const xmlns = iq.attrs.xmlns ?? ''
	const child = getAllBinaryNodeChildren(iq)[0]
	core.log.emit({
		type: 'iq',
		connectionId: connection.id,
		device: connection.device?.jid,
		xmlns,
		iqType: iq.attrs.type ?? '',
		child: child?.tag,
	})
	const reply = (content?: BinaryNode[]) =>
		connection.send({
			tag: 'iq',
			attrs: { from: iq.attrs.to ?? SERVER_JID, id: iq.attrs.id ?? '', type: 'result' },
			content,
		})
	const fail = (code: number, text: string) =>
		connection.send({
			tag: 'iq',
			attrs: { from: iq.attrs.to ?? SERVER_JID, id: iq.attrs.id ?? '', type: 'error' },
			content: [{ tag: 'error', attrs: { code: String(code), text } }],
		})

	switch (xmlns) {
		case 'encrypt': {
			reply(answerEncrypt(core.state, connection, iq))
			// `digest` is the last query Baileys makes before it reports the connection open.
			if (child?.tag === 'digest') core.afterLogin(connection)
			return
		}
		case 'usync':
			core.people.noteLookup(connection, iq)
			return reply(answerUsync(core.state, iq, (phone) => core.people.isOnWhatsApp(phone)))
		case 'abt':
			reply([{ tag: 'props', attrs: { protocol: '1', hash: 'standin', refresh: '86400' } }])
			return core.afterLogin(connection)
		case 'blocklist':
			reply(iq.attrs.type === 'get' ? [{ tag: 'list', attrs: {} }] : undefined)
			return core.afterLogin(connection)
		case 'privacy':
			if (child?.tag === 'privacy' && iq.attrs.type === 'get') {
				reply([
					{
						tag: 'privacy',
						attrs: {},
						content: Object.entries(PRIVACY).map(([name, value]) => ({ tag: 'category', attrs: { name, value } })),
					},
				])
				return core.afterLogin(connection)
			}
			return reply(child?.tag === 'tokens' ? [{ tag: 'tokens', attrs: {} }] : undefined)
		case 'w:sync:app:state': {
			const owner = connection.device && core.state.person(connection.device.phone)
			return reply(await answerAppStateSync(connection.device, owner?.name ?? '', iq))
		}
		case 'md':
			return handleMd(core, connection, iq, child, reply, fail)
		case 'w:m':
			// media_conn: an upload token and the stand-in's own HTTPS CDN as the host.
			return reply([core.media.cdn.mediaConnNode()])
		case 'w:g2':
			if (child?.tag === 'participating') return reply([{ tag: 'groups', attrs: {} }])
			return fail(404, 'item-not-found')
		case 'w:profile:picture': {
			const answer = core.people.answerPicture(iq)
			return 'ok' in answer ? reply(answer.ok) : fail(...answer.error)
		}
		case 'w:mex':
			return reply([{ tag: 'result', attrs: {}, content: Buffer.from(JSON.stringify({ data: null })) }])
		default:
			// w:p (ping), passive, w:stats, urn:xmpp:whatsapp:dirty, status, disappearing_mode, …
			return reply()
	}
}

function handleMd(
	core: StandInCore,
	connection: Connection,
	_iq: BinaryNode,
	child: BinaryNode | undefined,
	reply: (content?: BinaryNode[]) => void,
	fail: (code: number, text: string) => void,
): void {
	if (child?.tag === 'remove-companion-device') {
		reply()
		// A companion can only unlink itself (the phone unlinks others: `revoke`).
		if (connection.device) core.removeDevice(connection.device.jid, 'logout')
		return
	}
	if (child?.tag === 'link_code_companion_reg') {
		try {
			if (child.attrs.stage === 'companion_hello') {
				reply([startCodePairing(core, connection, child)])
				return
			}
			if (child.attrs.stage === 'companion_finish') {
				const pairing = connection.registration?.codePairing
				if (!pairing) {
					fail(400, 'bad-request')
					return
				}
				const person = core.state.person(pairing.phone)
				let advSecret: Buffer
				try {
					advSecret = finishCodePairing(child, connection, person)
				} catch {
					core.rejectCodePairing(connection, new Error('pairing code did not match'))
					fail(401, 'not-authorized')
					return
				}
				reply()
				// Not awaited: the companion's answer to pair-success comes through this same queue.
				completePairing(core, connection, person, advSecret).then(
					() => core.resolveCodePairing(connection),
					(error: unknown) => core.rejectCodePairing(connection, error),
				)
				return
			}
		} catch (error) {
			core.reportError(connection, error)
			fail(400, 'bad-request')
			return
		}
	}
	reply()
}
