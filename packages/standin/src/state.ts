import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { randomInt } from 'node:crypto'
import { Curve, jidDecode, type KeyPair } from '@whiskeysockets/baileys'
import type { AppStateKey } from './app-state'
import { keyPairFromBase64, keyPairToBase64 } from './certificates'
import type { MediaCa } from './media/tls'
import { SignalParty, type KeyBundle, type SerializedParty } from './signal-party'

/** A WhatsApp user the stand-in plays: the phone of an account that links companions, or a contact. */
export interface Person {
	phone: string
	/** The LID user part (digits), fixed for the person. */
	lid: string
	name: string
	party: SignalParty
	nextDeviceId: number
	/** ADV raw id of the account, the same for all its companions. */
	rawId: number
}

/** A paired companion (a linked device), named by its noise key. */
export interface Device {
	noiseKey: string
	phone: string
	deviceId: number
	jid: string
	lid: string
	keyIndex: number
	identityKey: Buffer
	registrationId: number
	signedPreKey: { keyId: number; publicKey: Buffer; signature: Buffer }
	preKeys: Map<number, Buffer>
	platform: string
	pairedAt: number
	removed?: 'logout' | 'revoked'
	/** Whether the phone has pushed its first history sync to this companion yet. */
	initialSyncDone: boolean
	appStateKey?: AppStateKey
}

interface SerializedState {
	rootKey: { public: string; private: string }
	serverStatic: { public: string; private: string }
	mediaCa?: MediaCa
	people: Array<Omit<Person, 'party'> & { party: SerializedParty }>
	devices: Array<
		Omit<Device, 'identityKey' | 'signedPreKey' | 'preKeys'> & {
			identityKey: string
			signedPreKey: { keyId: number; publicKey: string; signature: string }
			preKeys: Record<string, string>
		}
	>
}

export class StandInState {
	readonly rootKey: KeyPair
	readonly serverStatic: KeyPair
	readonly people = new Map<string, Person>()
	readonly devices = new Map<string, Device>()
	/** The CA of the media CDN's certificates (created by the media side on first start). */
	mediaCa?: MediaCa
	private readonly lids = new Map<string, string>()
	private saveTimer?: Timer
	private lastSaveMs = 0

	private constructor(
		private readonly path: string | undefined,
		rootKey?: KeyPair,
		serverStatic?: KeyPair,
	) {
		this.rootKey = rootKey ?? Curve.generateKeyPair()
		this.serverStatic = serverStatic ?? Curve.generateKeyPair()
	}

	/** Loads the state from `path` when it exists (so a restarted stand-in keeps its root key and paired devices). */
	static open(path?: string): StandInState {
		if (!path || !existsSync(path)) return new StandInState(path)
		const data = JSON.parse(readFileSync(path, 'utf8')) as SerializedState
		const state = new StandInState(path, keyPairFromBase64(data.rootKey), keyPairFromBase64(data.serverStatic))
		state.mediaCa = data.mediaCa
		for (const person of data.people) {
			state.addPerson({ ...person, party: SignalParty.restore(person.party) })
		}
		for (const device of data.devices) {
			state.devices.set(device.noiseKey, {
				...device,
				identityKey: Buffer.from(device.identityKey, 'base64'),
				signedPreKey: {
					keyId: device.signedPreKey.keyId,
					publicKey: Buffer.from(device.signedPreKey.publicKey, 'base64'),
					signature: Buffer.from(device.signedPreKey.signature, 'base64'),
				},
				preKeys: new Map(Object.entries(device.preKeys).map(([id, key]) => [Number(id), Buffer.from(key, 'base64')])),
			})
		}
		return state
	}

	/** The person behind a phone number (digits), created on first use: every number "is on WhatsApp". */
	person(phone: string, name?: string): Person {
		const digits = normalizePhone(phone)
		const existing = this.people.get(digits)
		if (existing) {
			if (name && existing.name !== name) existing.name = name
			return existing
		}
		let lid: string
		do lid = String(randomInt(10_000_000, 99_999_999)) + String(randomInt(1_000_000, 9_999_999))
		while (this.lids.has(lid))
		const person: Person = {
			phone: digits,
			lid,
			name: name ?? `Contact ${digits.slice(-4)}`,
			party: SignalParty.create(),
			nextDeviceId: 1,
			rawId: randomInt(1, 2 ** 31),
		}
		this.addPerson(person)
		return person
	}

	/** Resolves any user JID (phone number or LID, with or without device) to the person, if known. */
	personByJid(jid: string): Person | undefined {
		const decoded = jidDecode(jid)
		if (!decoded?.user) return undefined
		if (decoded.server === 'lid') {
			const phone = this.lids.get(decoded.user)
			return phone ? this.people.get(phone) : undefined
		}
		if (decoded.server === 's.whatsapp.net') return this.person(decoded.user)
		return undefined
	}

	deviceByJid(jid: string): Device | undefined {
		const decoded = jidDecode(jid)
		if (!decoded?.device) return undefined
		const person = this.personByJid(jid)
		if (!person) return undefined
		for (const device of this.devices.values()) {
			if (device.phone === person.phone && device.deviceId === decoded.device && !device.removed) return device
		}
		return undefined
	}

	devicesOf(phone: string): Device[] {
		const digits = normalizePhone(phone)
		return [...this.devices.values()].filter((device) => device.phone === digits)
	}

	/** Called when a companion has fewer than five one-time prekeys left on the server. */
	onPreKeysLow?: (device: Device) => void

	/** Hands out one of the companion's uploaded one-time prekeys, as the server does (each is used once). */
	companionBundle(device: Device): KeyBundle {
		const next = device.preKeys.entries().next()
		let preKey: KeyBundle['preKey']
		if (!next.done) {
			const [keyId, publicKey] = next.value
			device.preKeys.delete(keyId)
			preKey = { keyId, publicKey }
			if (device.preKeys.size < 5) this.onPreKeysLow?.(device)
		}
		return {
			registrationId: device.registrationId,
			identityKey: device.identityKey,
			signedPreKey: device.signedPreKey,
			preKey,
		}
	}

	/**
	 * Writes the state soon: at most once a second, and never more than a tenth of the time, since
	 * one write serialises every device with its uploaded prekeys (tens of MB at 1,000 devices) and
	 * a pairing, a prekey upload or a Signal session each asks for one. `flush()` writes at once.
	 */
	save(): void {
		if (!this.path || this.saveTimer) return
		const wait = Math.max(1_000, 9 * this.lastSaveMs)
		this.saveTimer = setTimeout(() => this.flush(), wait)
		this.saveTimer.unref()
	}

	flush(): void {
		clearTimeout(this.saveTimer)
		this.saveTimer = undefined
		if (!this.path) return
		const started = performance.now()
		const data: SerializedState = {
			rootKey: keyPairToBase64(this.rootKey),
			serverStatic: keyPairToBase64(this.serverStatic),
			mediaCa: this.mediaCa,
			people: [...this.people.values()].map((person) => ({ ...person, party: person.party.serialize() })),
			devices: [...this.devices.values()].map((device) => ({
				...device,
				identityKey: device.identityKey.toString('base64'),
				signedPreKey: {
					keyId: device.signedPreKey.keyId,
					publicKey: device.signedPreKey.publicKey.toString('base64'),
					signature: device.signedPreKey.signature.toString('base64'),
				},
				preKeys: Object.fromEntries([...device.preKeys].map(([id, key]) => [id, key.toString('base64')])),
			})),
		}
		const temporary = `${this.path}.tmp`
		writeFileSync(temporary, JSON.stringify(data))
		renameSync(temporary, this.path)
		this.lastSaveMs = performance.now() - started
	}

	private addPerson(person: Person): void {
		this.people.set(person.phone, person)
		this.lids.set(person.lid, person.phone)
	}
}

export function normalizePhone(phone: string): string {
	const digits = phone.replace(/@.*$/, '').replace(/:\d+$/, '').replace(/\D/g, '')
	if (!digits) throw new Error(`not a phone number: ${phone}`)
	return digits
}

export const pnJid = (person: Person): string => `${person.phone}@s.whatsapp.net`
export const lidJid = (person: Person): string => `${person.lid}@lid`
