import type { CompanionPresence, PresenceState } from './people'
import type { StandIn, WaitOptions } from './server'
import type { StandInCore } from './standin'

/** The people operations of a running stand-in (part of `StandIn`). */
export interface PeopleControl {
	/** Whether a number has a WhatsApp account (default: every number has one). */
	setOnWhatsApp(phone: string, registered: boolean): void
	/**
	 * A user's (phone number) or group's (…@g.us) profile picture: its bytes, or null for none.
	 * `hidden`: it exists but its owner shows it to nobody. Answers the URL it is served at.
	 */
	setProfilePicture(target: string, image: Uint8Array | null, options?: { hidden?: boolean }): Promise<{ url: string } | null>
	/** The contact `from` shows `state` to the account `to`: its companions that subscribed hear of it. Answers how many connections got it. */
	sendPresence(options: { to: string; from: string; state: PresenceState; lastSeen?: number }): number
	/** Resolves on a presence, chat state or subscription a companion sent. */
	waitForPresence(predicate: (presence: CompanionPresence) => boolean, options?: WaitOptions): Promise<CompanionPresence>
}

export function peopleControl(core: StandInCore): PeopleControl {
	return {
		setOnWhatsApp: (phone, registered) => core.people.setOnWhatsApp(phone, registered),
		setProfilePicture: (target, image, options) => core.people.setPicture(target, image, options),
		sendPresence: (options) => core.people.sendPresence(options),
		async waitForPresence(predicate, options) {
			return (await core.log.waitFor('presence', (event) => predicate(event.presence), options)).presence
		},
	}
}

const STATES: PresenceState[] = ['available', 'unavailable', 'typing', 'recording', 'paused']

/** `POST /control/on-whatsapp {phone, registered}`, `/control/picture {target, base64 | null, hidden?}`, `/control/presence {to, from, state, lastSeen?}`. */
export async function handlePeopleRoute(standIn: StandIn, route: string, body: Record<string, unknown>): Promise<Response | undefined> {
	switch (route) {
		case 'POST /control/on-whatsapp':
			standIn.setOnWhatsApp(text(body.phone, 'phone'), body.registered !== false)
			return Response.json({ ok: true })
		case 'POST /control/picture': {
			const image = typeof body.base64 === 'string' ? Buffer.from(body.base64, 'base64') : null
			return Response.json(await standIn.setProfilePicture(text(body.target, 'target'), image, { hidden: body.hidden === true }))
		}
		case 'POST /control/presence': {
			const state = text(body.state, 'state') as PresenceState
			if (!STATES.includes(state)) throw new Error(`'state' must be one of ${STATES.join(', ')}`)
			const lastSeen = typeof body.lastSeen === 'number' ? body.lastSeen : undefined
			return Response.json({ delivered: standIn.sendPresence({ to: text(body.to, 'to'), from: text(body.from, 'from'), state, lastSeen }) })
		}
		default:
			return undefined
	}
}

function text(value: unknown, name: string): string {
	if (typeof value !== 'string' || !value) throw new Error(`'${name}' is required`)
	return value
}
