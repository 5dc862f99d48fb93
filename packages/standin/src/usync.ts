import { getAllBinaryNodeChildren, getBinaryNodeChild, isLidUser, type BinaryNode } from '@whiskeysockets/baileys'
import { lidJid, type StandInState } from './state'

/**
 * `usync` queries: device lists (before every send), LID lookups, "is this number on WhatsApp".
 * Every user has exactly one device here, the phone (device 0): the stand-in does not fan a
 * companion's own messages out to its sibling companions. A number `registered` denies has no
 * account: no devices, no LID, contact `out`.
 */
export function answerUsync(state: StandInState, iq: BinaryNode, registered: (phone: string) => boolean = () => true): BinaryNode[] {
	const usync = getBinaryNodeChild(iq, 'usync')
	const query = usync && getBinaryNodeChild(usync, 'query')
	const list = usync && getBinaryNodeChild(usync, 'list')
	const protocols = (query ? getAllBinaryNodeChildren(query) : []).map((node) => node.tag)
	const users = (list ? getAllBinaryNodeChildren(list) : []).map((user) => {
		let jid = user.attrs.jid
		if (!jid) {
			const contact = getBinaryNodeChild(user, 'contact')?.content
			const phone = contact
				? Buffer.from(contact as Uint8Array)
						.toString()
						.replace(/\D/g, '')
				: ''
			jid = `${phone}@s.whatsapp.net`
		}
		const known = state.personByJid(jid)
		const person = known && registered(known.phone) ? known : undefined
		return {
			tag: 'user',
			attrs: { jid },
			content: protocols.map((protocol): BinaryNode => {
				switch (protocol) {
					case 'devices':
						return {
							tag: 'devices',
							attrs: {},
							content: [{ tag: 'device-list', attrs: {}, content: person ? [{ tag: 'device', attrs: { id: '0' } }] : [] }],
						}
					case 'lid':
						return person && !isLidUser(jid) ? { tag: 'lid', attrs: { val: lidJid(person) } } : { tag: 'lid', attrs: {} }
					case 'contact':
						return { tag: 'contact', attrs: { type: person ? 'in' : 'out' } }
					case 'status':
						return { tag: 'status', attrs: { t: '0' }, content: Buffer.from('Hey there! I am using WhatsApp.') }
					case 'disappearing_mode':
						return { tag: 'disappearing_mode', attrs: { duration: '0', t: '0' } }
					default:
						return { tag: protocol, attrs: {} }
				}
			}),
		}
	})
	return [
		{
			tag: 'usync',
			attrs: {
				sid: usync?.attrs.sid ?? '',
				mode: usync?.attrs.mode ?? 'query',
				context: usync?.attrs.context ?? 'interactive',
				index: '0',
				last: 'true',
			},
			content: [
				{ tag: 'result', attrs: {}, content: protocols.map((protocol) => ({ tag: protocol, attrs: {} })) },
				{ tag: 'list', attrs: {}, content: users },
			],
		},
	]
}
