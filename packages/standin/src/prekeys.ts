import { getBinaryNodeChild, getBinaryNodeChildBuffer, getBinaryNodeChildren, jidDecode, type BinaryNode } from '@whiskeysockets/baileys'
import type { Connection } from './connection'
import { bundleNode } from './signal-party'
import type { StandInState } from './state'

/**
 * The `encrypt` namespace: prekey count, upload, digest and signed-prekey rotation for the
 * companion itself, and key-bundle fetches for whoever the companion wants to write to.
 * Returns the content of the result iq.
 */
export function answerEncrypt(state: StandInState, connection: Connection, iq: BinaryNode): BinaryNode[] {
	const device = connection.device
	const count = getBinaryNodeChild(iq, 'count')
	if (count) return [{ tag: 'count', attrs: { value: String(device?.preKeys.size ?? 0) } }]

	if (getBinaryNodeChild(iq, 'digest')) {
		return [{ tag: 'digest', attrs: {}, content: device ? [{ tag: 'type', attrs: {}, content: Buffer.from([5]) }] : [] }]
	}

	const rotate = getBinaryNodeChild(iq, 'rotate')
	if (rotate) {
		const signed = readSignedPreKey(getBinaryNodeChild(rotate, 'skey'))
		if (device && signed) {
			device.signedPreKey = signed
			state.save()
		}
		return []
	}

	const list = getBinaryNodeChild(iq, 'list')
	if (list && iq.attrs.type === 'set') {
		if (device) {
			for (const key of getBinaryNodeChildren(list, 'key')) {
				const id = getBinaryNodeChildBuffer(key, 'id')
				const value = getBinaryNodeChildBuffer(key, 'value')
				if (id && value) device.preKeys.set(Buffer.from(id).readUIntBE(0, id.byteLength), Buffer.from(value))
			}
			const signed = readSignedPreKey(getBinaryNodeChild(iq, 'skey'))
			if (signed) device.signedPreKey = signed
			state.save()
		}
		return []
	}

	const fetch = getBinaryNodeChild(iq, 'key')
	if (fetch) {
		const users = getBinaryNodeChildren(fetch, 'user').map((user) => bundleFor(state, user.attrs.jid ?? ''))
		state.save()
		return [{ tag: 'list', attrs: {}, content: users }]
	}
	return []
}

function bundleFor(state: StandInState, jid: string): BinaryNode {
	const device = jidDecode(jid)?.device ?? 0
	const person = state.personByJid(jid)
	if (person && device === 0) return bundleNode(jid, person.party.issueBundle())
	const companion = person ? state.deviceByJid(jid) : undefined
	if (companion) return bundleNode(jid, state.companionBundle(companion))
	return { tag: 'user', attrs: { jid }, content: [{ tag: 'error', attrs: { code: '404', text: 'item-not-found' } }] }
}

function readSignedPreKey(node: BinaryNode | undefined) {
	const id = getBinaryNodeChildBuffer(node, 'id')
	const value = getBinaryNodeChildBuffer(node, 'value')
	const signature = getBinaryNodeChildBuffer(node, 'signature')
	if (!id || !value || !signature) return undefined
	return {
		keyId: Buffer.from(id).readUIntBE(0, id.byteLength),
		publicKey: Buffer.from(value),
		signature: Buffer.from(signature),
	}
}
