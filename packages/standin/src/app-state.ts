import { randomBytes } from 'node:crypto'
import {
	chatModificationToAppPatch,
	encodeSyncdPatch,
	getBinaryNodeChild,
	getBinaryNodeChildren,
	newLTHashState,
	proto,
	type BinaryNode,
} from '@whiskeysockets/baileys'
import type { Device } from './state'

/** The app-state sync key the phone shares with a companion (base64 id and key data). */
export interface AppStateKey {
	id: string
	data: string
}

export function newAppStateKey(): AppStateKey {
	return { id: randomBytes(6).toString('base64'), data: randomBytes(32).toString('base64') }
}

/** The phone shares its app-state sync key with a new companion (without it the companion cannot read or write app state). */
export function appStateKeyShare(key: AppStateKey): proto.IMessage {
	return {
		protocolMessage: {
			type: proto.Message.ProtocolMessage.Type.APP_STATE_SYNC_KEY_SHARE,
			appStateSyncKeyShare: {
				keys: [
					{
						keyId: { keyId: Buffer.from(key.id, 'base64') },
						keyData: {
							keyData: Buffer.from(key.data, 'base64'),
							fingerprint: { rawId: 1, currentIndex: 0, deviceIndexes: [0] },
							timestamp: Date.now(),
						},
					},
				],
			},
		},
	}
}

/**
 * `w:sync:app:state`: every collection is empty, except that a companion syncing `critical_block`
 * from scratch gets one patch with the account's push name — which is how Baileys learns
 * `creds.me.name` (and stops skipping presence updates for want of a name).
 */
export async function answerAppStateSync(device: Device | undefined, name: string, iq: BinaryNode): Promise<BinaryNode[]> {
	const collections = getBinaryNodeChildren(getBinaryNodeChild(iq, 'sync'), 'collection')
	const answers = await Promise.all(
		collections.map(async (collection): Promise<BinaryNode> => {
			const attrs = { name: collection.attrs.name ?? '', version: collection.attrs.version ?? '0' }
			if (attrs.name !== 'critical_block' || attrs.version !== '0' || !device?.appStateKey || !name) {
				return { tag: 'collection', attrs }
			}
			const patch = await pushNamePatch(device.appStateKey, name)
			return {
				tag: 'collection',
				attrs,
				content: [{ tag: 'patches', attrs: {}, content: [{ tag: 'patch', attrs: {}, content: patch }] }],
			}
		}),
	)
	return [{ tag: 'sync', attrs: {}, content: answers }]
}

async function pushNamePatch(key: AppStateKey, name: string): Promise<Uint8Array> {
	const { patch } = await encodeSyncdPatch(chatModificationToAppPatch({ pushNameSetting: name }, ''), key.id, newLTHashState(), async () => ({
		keyData: Buffer.from(key.data, 'base64'),
	}))
	return proto.SyncdPatch.encode({ ...patch, version: { version: 1 } }).finish()
}
