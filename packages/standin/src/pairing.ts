import { randomBytes } from 'node:crypto'
import {
	aesDecryptCTR,
	aesDecryptGCM,
	aesEncryptCTR,
	Curve,
	derivePairingCodeKey,
	getBinaryNodeChild,
	getBinaryNodeChildBuffer,
	hkdf,
	hmacSign,
	proto,
	WA_ADV_ACCOUNT_SIG_PREFIX,
	WA_ADV_DEVICE_SIG_PREFIX,
	type BinaryNode,
} from '@whiskeysockets/baileys'
import { SERVER_JID, type Connection, type Registration } from './connection'
import type { Device, Person } from './state'
import type { StandInCore } from './standin'

const REFS_PER_REGISTRATION = 6

/** Reads the registration payload a companion without an account sends after the handshake. */
export function registrationFrom(data: proto.ClientPayload.IDevicePairingRegistrationData): Registration {
	if (!data.eIdent || !data.eRegid || !data.eSkeyId || !data.eSkeyVal || !data.eSkeySig) {
		throw new Error('registration payload incomplete')
	}
	let platform = 'Chrome'
	if (data.deviceProps) {
		const props = proto.DeviceProps.decode(data.deviceProps)
		platform = props.os || platform
	}
	return {
		refs: Array.from({ length: REFS_PER_REGISTRATION }, () => `2@${randomBytes(24).toString('base64')}`),
		identityKey: Buffer.from(data.eIdent),
		registrationId: Buffer.from(data.eRegid).readUInt32BE(0),
		signedPreKey: {
			keyId: Buffer.from(data.eSkeyId).readUIntBE(0, 3),
			publicKey: Buffer.from(data.eSkeyVal),
			signature: Buffer.from(data.eSkeySig),
		},
		platform,
	}
}

/** The refs Baileys turns into QR codes (one at a time, 60 s for the first, 20 s for each next). */
export function pairDeviceNode(connection: Connection, refs: string[]): BinaryNode {
	return {
		tag: 'iq',
		attrs: { from: SERVER_JID, type: 'set', id: connection.tag(), xmlns: 'md' },
		content: [
			{
				tag: 'pair-device',
				attrs: {},
				content: refs.map((ref) => ({ tag: 'ref', attrs: {}, content: Buffer.from(ref) })),
			},
		],
	}
}

/** `https://wa.me/settings/linked_devices#ref,noiseKey,identityKey,advSecret,platform` (Baileys' buildPairingQRData). */
export function parseQr(qr: string): { ref: string; noiseKey: string; identityKey: string; advSecret: string } {
	const parts = qr.slice(qr.indexOf('#') + 1).split(',')
	const [ref, noiseKey, identityKey, advSecret] = parts
	if (!ref || !noiseKey || !identityKey || !advSecret) throw new Error('not a WhatsApp linking QR')
	return { ref, noiseKey, identityKey, advSecret }
}

/**
 * What the phone does after it scanned the QR (or accepted a pairing code): `pair-success` with
 * the device identity signed by the account key and MACed with the companion's ADV secret; the
 * companion answers with its own device signature, and the server asks it to restart (515).
 */
export async function completePairing(core: StandInCore, connection: Connection, person: Person, advSecret: Buffer): Promise<Device> {
	const registration = connection.registration
	if (!registration) throw new Error('connection is not registering')
	const deviceId = person.nextDeviceId++
	const keyIndex = deviceId
	const details = proto.ADVDeviceIdentity.encode({
		rawId: person.rawId,
		timestamp: Math.floor(Date.now() / 1000),
		keyIndex,
		accountType: proto.ADVEncryptionType.E2EE,
		deviceType: proto.ADVEncryptionType.E2EE,
	}).finish()
	const accountSignature = Curve.sign(person.party.privateKey, Buffer.concat([WA_ADV_ACCOUNT_SIG_PREFIX, details, registration.identityKey]))
	const signed = proto.ADVSignedDeviceIdentity.encode({
		details,
		accountSignatureKey: person.party.publicKey,
		accountSignature,
	}).finish()
	const identity = proto.ADVSignedDeviceIdentityHMAC.encode({
		details: signed,
		hmac: hmacSign(signed, advSecret),
		accountType: proto.ADVEncryptionType.E2EE,
	}).finish()
	const jid = `${person.phone}:${deviceId}@s.whatsapp.net`
	const lid = `${person.lid}:${deviceId}@lid`

	const answer = await connection.query({
		tag: 'iq',
		attrs: { from: SERVER_JID, type: 'set', id: connection.tag(), t: String(Math.floor(Date.now() / 1000)) },
		content: [
			{
				tag: 'pair-success',
				attrs: {},
				content: [
					{ tag: 'device-identity', attrs: { 'key-index': String(keyIndex) }, content: identity },
					{ tag: 'platform', attrs: { name: 'android' } },
					{ tag: 'device', attrs: { jid, lid } },
				],
			},
		],
	})
	const signedByDevice = getBinaryNodeChildBuffer(getBinaryNodeChild(answer, 'pair-device-sign'), 'device-identity')
	if (answer.attrs.type !== 'result' || !signedByDevice) throw new Error('companion refused pair-success')
	const account = proto.ADVSignedDeviceIdentity.decode(signedByDevice)
	const deviceMessage = Buffer.concat([WA_ADV_DEVICE_SIG_PREFIX, details, registration.identityKey, person.party.publicKey])
	if (!account.deviceSignature || !Curve.verify(registration.identityKey, deviceMessage, account.deviceSignature)) {
		throw new Error('companion device signature does not verify')
	}

	const device: Device = {
		noiseKey: connection.noiseKey,
		phone: person.phone,
		deviceId,
		jid,
		lid,
		keyIndex,
		identityKey: registration.identityKey,
		registrationId: registration.registrationId,
		signedPreKey: registration.signedPreKey,
		preKeys: new Map(),
		platform: registration.platform,
		pairedAt: Date.now(),
		initialSyncDone: false,
	}
	core.state.devices.set(device.noiseKey, device)
	core.counters.pairings++
	core.state.save()
	core.log.emit({ type: 'paired', device: jid, phone: person.phone })
	// The companion must reconnect and log in with its new identity: "restart required".
	connection.send({ tag: 'stream:error', attrs: { code: '515' } })
	return device
}

/** `link_code_companion_reg` stage `companion_hello`: the companion asks to pair by code with a phone number. */
export function startCodePairing(core: StandInCore, connection: Connection, request: BinaryNode): BinaryNode {
	const registration = connection.registration
	const wrapped = getBinaryNodeChildBuffer(request, 'link_code_pairing_wrapped_companion_ephemeral_pub')
	const phone = request.attrs.jid?.split('@')[0]
	if (!registration || !wrapped || !phone) throw new Error('bad companion_hello')
	const ref = randomBytes(16).toString('base64url')
	registration.codePairing = { phone, ref, wrappedEphemeral: Buffer.from(wrapped) }
	core.log.emit({ type: 'pairing-code-requested', connectionId: connection.id, phone })
	return {
		tag: 'link_code_companion_reg',
		attrs: {},
		content: [{ tag: 'link_code_pairing_ref', attrs: {}, content: Buffer.from(ref) }],
	}
}

/**
 * The phone's side of pairing by code: unwrap the companion's ephemeral key with the code, send
 * our own (wrapped with the same code) in a `primary_hello` notification. A wrong code yields a
 * wrong key on both sides, which surfaces when the companion's key bundle fails to decrypt.
 */
export async function enterPairingCode(core: StandInCore, connection: Connection, code: string): Promise<void> {
	const pairing = connection.registration?.codePairing
	if (!pairing) throw new Error('no pairing code was requested on this connection')
	const normalized = code.replace(/[^0-9A-Za-z]/g, '').toUpperCase()
	const wrapped = pairing.wrappedEphemeral
	const key = await derivePairingCodeKey(normalized, wrapped.subarray(0, 32))
	const companionEphemeral = aesDecryptCTR(wrapped.subarray(48, 80), key, wrapped.subarray(32, 48))
	const primaryEphemeral = Curve.generateKeyPair()
	pairing.primaryEphemeral = primaryEphemeral
	pairing.companionEphemeral = companionEphemeral
	const salt = randomBytes(32)
	const iv = randomBytes(16)
	const ourKey = await derivePairingCodeKey(normalized, salt)
	const person = core.state.person(pairing.phone)
	connection.send({
		tag: 'notification',
		attrs: { from: SERVER_JID, type: 'link_code_companion_reg', id: connection.tag(), t: now() },
		content: [
			{
				tag: 'link_code_companion_reg',
				attrs: { stage: 'primary_hello' },
				content: [
					{ tag: 'link_code_pairing_ref', attrs: {}, content: Buffer.from(pairing.ref) },
					{ tag: 'primary_identity_pub', attrs: {}, content: person.party.publicKey },
					{
						tag: 'link_code_pairing_wrapped_primary_ephemeral_pub',
						attrs: {},
						content: Buffer.concat([salt, iv, aesEncryptCTR(primaryEphemeral.public, ourKey, iv)]),
					},
				],
			},
		],
	})
}

/** `companion_finish`: derive the ADV secret the companion derived, then pair as after a QR scan. */
export function finishCodePairing(request: BinaryNode, connection: Connection, person: Person): Buffer {
	const pairing = connection.registration?.codePairing
	const bundle = getBinaryNodeChildBuffer(request, 'link_code_pairing_wrapped_key_bundle')
	if (!pairing?.primaryEphemeral || !pairing.companionEphemeral || !bundle) throw new Error('companion_finish before primary_hello')
	const companionShared = Curve.sharedKey(pairing.primaryEphemeral.private, pairing.companionEphemeral)
	const wrapped = Buffer.from(bundle)
	const key = hkdf(companionShared, 32, {
		salt: wrapped.subarray(0, 32),
		info: 'link_code_pairing_key_bundle_encryption_key',
	})
	const plain = aesDecryptGCM(wrapped.subarray(44), key, wrapped.subarray(32, 44), new Uint8Array(0))
	const companionIdentity = plain.subarray(0, 32)
	const random = plain.subarray(64, 96)
	const identityShared = Curve.sharedKey(person.party.privateKey, companionIdentity)
	return Buffer.from(hkdf(Buffer.concat([companionShared, identityShared, random]), 32, { info: 'adv_secret' }))
}

const now = (): string => String(Math.floor(Date.now() / 1000))
