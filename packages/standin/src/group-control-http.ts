import type { GroupAction } from './groups'
import type { StandIn } from './server'

const ACTIONS = new Set<GroupAction>(['add', 'remove', 'promote', 'demote'])

/** The HTTP control routes of the group operations; `undefined` when the route is not one of them. */
export async function handleGroupRoute(standIn: StandIn, request: Request, body: Record<string, unknown>): Promise<Response | undefined> {
	const url = new URL(request.url)
	const route = `${request.method} ${url.pathname}`
	switch (route) {
		case 'POST /control/groups':
			return Response.json(
				await standIn.createGroup({
					owner: required(body.owner, 'owner'),
					subject: required(body.subject, 'subject'),
					members: phones(body.members, 'members'),
					admins: body.admins === undefined ? undefined : phones(body.admins, 'admins'),
					addressing: body.lid === true ? 'lid' : 'pn',
					hidePhones: body.hidePhones === true ? true : Array.isArray(body.hidePhones) ? phones(body.hidePhones, 'hidePhones') : undefined,
					description: typeof body.description === 'string' ? body.description : undefined,
				}),
			)
		case 'POST /control/groups/change': {
			const action = required(body.action, 'action') as GroupAction
			if (!ACTIONS.has(action)) throw new Error(`'action' must be one of ${[...ACTIONS].join(', ')}`)
			const members = phones(body.members, 'members')
			return Response.json(await standIn.changeGroup({ group: required(body.group, 'group'), actor: required(body.actor, 'actor'), action, members }))
		}
		case 'POST /control/groups/subject':
			await standIn.setGroupSubject({
				group: required(body.group, 'group'),
				actor: required(body.actor, 'actor'),
				subject: required(body.subject, 'subject'),
			})
			return Response.json({ ok: true })
		case 'POST /control/groups/description':
			await standIn.setGroupDescription({
				group: required(body.group, 'group'),
				actor: required(body.actor, 'actor'),
				description: typeof body.description === 'string' ? body.description : '',
			})
			return Response.json({ ok: true })
		case 'POST /control/groups/reveal':
			await standIn.revealGroupPhone({ group: required(body.group, 'group'), phone: required(body.phone, 'phone') })
			return Response.json({ ok: true })
		case 'POST /control/groups/fail-queries': {
			const times = body.times
			if (typeof times !== 'number' || !Number.isInteger(times) || times < 0) throw new Error("'times' must be a whole number of queries")
			standIn.failGroupQueries({ group: required(body.group, 'group'), times })
			return Response.json({ ok: true })
		}
		case 'POST /control/groups/messages':
			return Response.json(
				await standIn.deliverToGroup({
					group: required(body.group, 'group'),
					from: required(body.from, 'from'),
					text: required(body.text, 'text'),
					pushName: typeof body.pushName === 'string' && body.pushName ? body.pushName : undefined,
				}),
			)
	}
	const jid = /^\/control\/groups\/([^/]+)$/.exec(url.pathname)?.[1]
	if (request.method === 'GET' && jid) {
		const group = decodeURIComponent(jid)
		return Response.json({ ...standIn.group(group), queries: standIn.groupQueries(group) })
	}
	return undefined
}

function required(value: unknown, name: string): string {
	if (typeof value !== 'string' || !value) throw new Error(`'${name}' is required`)
	return value
}

function phones(value: unknown, name: string): string[] {
	if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new Error(`'${name}' must be a list of phone numbers`)
	return value as string[]
}
