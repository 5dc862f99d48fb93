import { randomBytes, randomInt } from 'node:crypto'
import { getAllBinaryNodeChildren, getBinaryNodeChild, getBinaryNodeChildren, jidDecode, proto, type BinaryNode } from '@whiskeysockets/baileys'
import { SERVER_JID } from './connection'
import { lidJid, normalizePhone, pnJid, type Person, type StandInState } from './state'

export type GroupRole = 'member' | 'admin' | 'superadmin'
export type GroupAction = 'add' | 'remove' | 'promote' | 'demote'

/** A group as WhatsApp's server keeps it: members by phone number, each with a role. */
export interface StandInGroup {
	/** `<digits>@g.us` */
	jid: string
	subject: string
	subjectTime: number
	subjectOwner: string
	description?: string
	descriptionId?: string
	descriptionTime?: number
	/** The creator's phone number. */
	creator: string
	creation: number
	/** `lid`: the roster and notifications name members by LID, their phone numbers only where shown. */
	addressing: 'pn' | 'lid'
	announce: boolean
	restrict: boolean
	/** Disappearing messages timer, seconds. */
	ephemeral?: number
	members: Map<string, GroupRole>
	/** Members of a LID group whose phone number the roster does not show (yet). */
	hiddenPhones: Set<string>
	inviteCode: string
}

export interface CreateGroupOptions {
	/** The creator (superadmin), a phone number. */
	owner: string
	subject: string
	members: string[]
	admins?: string[]
	addressing?: 'pn' | 'lid'
	/** LID groups: hide the phone numbers of these members (true: of all but the owner). */
	hidePhones?: boolean | string[]
	description?: string
	announce?: boolean
	restrict?: boolean
	ephemeral?: number
	/** Tell the members' companions with a `create` notification (default true). */
	notify?: boolean
}

/** What the stand-in's core gives the group side. */
/** A message from a member to a group. */
export interface GroupMessageOptions {
	group: string
	from: string
	text?: string
	message?: proto.IMessage
	id?: string
	/** The member's push name (also remembered as its name). */
	pushName?: string
}

export interface GroupHost {
	readonly state: StandInState
	/** Sends a node to every linked companion of an account (queued for offline ones); none linked is fine. */
	pushToAccount(phone: string, node: BinaryNode): Promise<void>
	nextTag(): string
}

/** WhatsApp's iq error codes for group queries, as Baileys receives them. */
export const GROUP_ERRORS = {
	badRequest: { code: 400, text: 'bad-request' },
	notAuthorized: { code: 401, text: 'not-authorized' },
	forbidden: { code: 403, text: 'forbidden' },
	notFound: { code: 404, text: 'item-not-found' },
	conflict: { code: 409, text: 'conflict' },
	internal: { code: 500, text: 'internal-server-error' },
} as const

export class GroupError extends Error {
	constructor(readonly error: { code: number; text: string }) {
		super(error.text)
	}
}

const now = () => Math.floor(Date.now() / 1000)

/**
 * The server side of groups: rosters in phone-number or LID addressing, the `w:g2` iqs a companion
 * asks (metadata, everything it takes part in, create, subject, description, participants, leave,
 * invite codes), `w:gp2` notifications to every member's companions, and group messages from a
 * member. Counts the metadata queries, so a test can tell whether a send fetched a roster again.
 */
export class GroupHub {
	readonly groups = new Map<string, StandInGroup>()
	readonly counters = { participating: 0, metadata: new Map<string, number>() }
	/** Metadata queries still to fail, per group (`failQueries`). */
	private readonly failing = new Map<string, number>()
	private readonly senderKeys = new Map<string, Uint8Array>()

	constructor(private readonly host: GroupHost) {}

	get state(): StandInState {
		return this.host.state
	}

	// ── control ──────────────────────────────────────────────────────────────────────────────

	async create(options: CreateGroupOptions): Promise<StandInGroup> {
		const owner = this.state.person(options.owner).phone
		let jid: string
		do jid = `120363${randomInt(100_000, 999_999)}${randomInt(100_000, 999_999)}@g.us`
		while (this.groups.has(jid))
		const members = new Map<string, GroupRole>([[owner, 'superadmin']])
		for (const phone of options.members) members.set(this.state.person(phone).phone, members.get(normalizePhone(phone)) ?? 'member')
		for (const phone of options.admins ?? []) if (members.get(normalizePhone(phone)) === 'member') members.set(normalizePhone(phone), 'admin')
		const addressing = options.addressing ?? 'pn'
		const hidden =
			addressing === 'lid' && options.hidePhones
				? options.hidePhones === true
					? [...members.keys()].filter((phone) => phone !== owner)
					: options.hidePhones.map(normalizePhone)
				: []
		const at = now()
		const group: StandInGroup = {
			jid,
			subject: options.subject,
			subjectTime: at,
			subjectOwner: owner,
			creator: owner,
			creation: at,
			addressing,
			announce: options.announce ?? false,
			restrict: options.restrict ?? false,
			ephemeral: options.ephemeral,
			members,
			hiddenPhones: new Set(hidden),
			inviteCode: newInviteCode(),
		}
		if (options.description) this.setDescription(group, owner, options.description)
		this.groups.set(jid, group)
		if (options.notify !== false) await this.notify(group, owner, { tag: 'create', attrs: {}, content: [this.groupNode(group)] })
		return group
	}

	/** A member (`actor`) changes the roster; the members' companions hear of it. */
	async change(jid: string, actor: string, action: GroupAction, phones: string[]): Promise<Array<{ phone: string; error?: number }>> {
		const group = this.get(jid)
		const by = normalizePhone(actor)
		this.mustBeAdmin(group, by)
		return this.apply(group, by, action, phones.map(normalizePhone))
	}

	async setSubject(jid: string, actor: string, subject: string): Promise<void> {
		const group = this.get(jid)
		const by = normalizePhone(actor)
		this.mayEditInfo(group, by)
		group.subject = subject
		group.subjectTime = now()
		group.subjectOwner = by
		await this.notify(group, by, { tag: 'subject', attrs: { subject, s_t: String(group.subjectTime), s_o: this.memberJid(group, by) } })
	}

	async describe(jid: string, actor: string, description: string): Promise<void> {
		const group = this.get(jid)
		const by = normalizePhone(actor)
		this.mayEditInfo(group, by)
		this.setDescription(group, by, description)
		await this.notify(group, by, this.descriptionNode(group))
	}

	/**
	 * The phone number of a LID group's member becomes visible: the roster shows it from now on,
	 * and the members' companions are told their group list is stale (`<ib><dirty type="groups">`),
	 * on which Baileys fetches every group it takes part in again.
	 */
	async revealPhone(jid: string, phone: string): Promise<void> {
		const group = this.get(jid)
		group.hiddenPhones.delete(normalizePhone(phone))
		for (const member of group.members.keys()) {
			await this.host.pushToAccount(member, {
				tag: 'ib',
				attrs: { from: SERVER_JID },
				content: [{ tag: 'dirty', attrs: { type: 'groups', timestamp: String(now()) } }],
			})
		}
	}

	/**
	 * A message from a member to the group, delivered to every other member's companions as
	 * WhatsApp fans it out: from the group, with the sender as `participant` (and its other form
	 * where the group shows it). Plaintext: the stand-in plays no sender-key session for members.
	 */
	async deliver(options: GroupMessageOptions & { timestamp?: number }) {
		const group = this.get(options.group)
		const from = this.state.person(options.from, options.pushName)
		if (!group.members.has(from.phone)) throw new GroupError(GROUP_ERRORS.forbidden)
		const id = options.id ?? `3A${randomBytes(9).toString('hex').toUpperCase()}`
		const message = options.message ?? { conversation: options.text ?? '' }
		const participant = this.memberJid(group, from.phone)
		const attrs: Record<string, string> = {
			from: group.jid,
			id,
			t: String(options.timestamp ?? now()),
			type: 'text',
			notify: options.pushName ?? from.name,
			participant,
			addressing_mode: group.addressing,
		}
		if (group.addressing === 'lid') {
			if (!group.hiddenPhones.has(from.phone)) attrs.participant_pn = pnJid(from)
		} else attrs.participant_lid = lidJid(from)
		const node: BinaryNode = {
			tag: 'message',
			attrs,
			content: [{ tag: 'plaintext', attrs: {}, content: proto.Message.encode(message).finish() }],
		}
		for (const member of group.members.keys()) if (member !== from.phone) await this.host.pushToAccount(member, node)
		return { id, participant, participantAlt: attrs.participant_pn ?? attrs.participant_lid }
	}

	get(jid: string): StandInGroup {
		const group = this.groups.get(jid)
		if (!group) throw new GroupError(GROUP_ERRORS.notFound)
		return group
	}

	/** The group's next `times` metadata queries answer 500, as WhatsApp does when it cannot answer now. */
	failQueries(jid: string, times: number) {
		this.failing.set(this.get(jid).jid, times)
	}

	metadataQueries(jid: string): number {
		return this.counters.metadata.get(jid) ?? 0
	}

	// ── the w:g2 iqs ─────────────────────────────────────────────────────────────────────────

	/** The content of the answer to a companion's `w:g2` iq; throws GroupError for an error answer. */
	async answer(phone: string, iq: BinaryNode): Promise<BinaryNode[] | undefined> {
		const child = getAllBinaryNodeChildren(iq)[0]
		const to = iq.attrs.to ?? ''
		const type = iq.attrs.type
		if (!child) throw new GroupError(GROUP_ERRORS.badRequest)
		if (to === '@g.us' || to === 'g.us') {
			if (type === 'get' && child.tag === 'participating') {
				this.counters.participating++
				const mine = [...this.groups.values()].filter((group) => group.members.has(phone))
				return [{ tag: 'groups', attrs: {}, content: mine.map((group) => this.groupNode(group)) }]
			}
			if (type === 'set' && child.tag === 'create') return [await this.createFromIq(phone, child)]
			if (type === 'set' && child.tag === 'leave') {
				const ids = getBinaryNodeChildren(child, 'group').map((node) => node.attrs.id ?? '')
				for (const id of ids) {
					const group = this.get(id.includes('@') ? id : `${id}@g.us`)
					if (!group.members.has(phone)) throw new GroupError(GROUP_ERRORS.forbidden)
					await this.apply(group, phone, 'remove', [phone])
				}
				return [{ tag: 'leave', attrs: {}, content: ids.map((id) => ({ tag: 'group', attrs: { id } })) }]
			}
			throw new GroupError(GROUP_ERRORS.badRequest)
		}
		const group = this.get(to)
		if (type === 'get' && child.tag === 'query') {
			this.counters.metadata.set(group.jid, this.metadataQueries(group.jid) + 1)
			const failing = this.failing.get(group.jid) ?? 0
			if (failing > 0) {
				this.failing.set(group.jid, failing - 1)
				throw new GroupError(GROUP_ERRORS.internal)
			}
			if (!group.members.has(phone)) throw new GroupError(GROUP_ERRORS.forbidden)
			return [this.groupNode(group)]
		}
		if (!group.members.has(phone)) throw new GroupError(GROUP_ERRORS.forbidden)
		switch (child.tag) {
			case 'subject': {
				const subject = Buffer.from((child.content as Uint8Array | undefined) ?? []).toString()
				if (!subject.trim()) throw new GroupError(GROUP_ERRORS.badRequest)
				await this.setSubject(group.jid, phone, subject)
				return undefined
			}
			case 'description': {
				this.mayEditInfo(group, phone)
				const body = getBinaryNodeChild(child, 'body')?.content
				this.setDescription(group, phone, child.attrs.delete === 'true' || !body ? '' : Buffer.from(body as Uint8Array).toString(), child.attrs.id)
				await this.notify(group, phone, this.descriptionNode(group))
				return undefined
			}
			case 'add':
			case 'remove':
			case 'promote':
			case 'demote': {
				this.mustBeAdmin(group, phone)
				const targets = getBinaryNodeChildren(child, 'participant').map((node) => node.attrs.jid ?? '')
				const people = targets.map((jid) => this.state.personByJid(jid))
				const results = await this.apply(
					group,
					phone,
					child.tag,
					people.map((person) => person?.phone ?? ''),
				)
				return [
					{
						tag: child.tag,
						attrs: {},
						content: targets.map((jid, i) => ({
							tag: 'participant',
							attrs: { jid, ...(results[i]?.error ? { error: String(results[i]!.error) } : {}) },
						})),
					},
				]
			}
			case 'invite': {
				this.mustBeAdmin(group, phone)
				if (type === 'set') group.inviteCode = newInviteCode()
				return [{ tag: 'invite', attrs: { code: group.inviteCode } }]
			}
			default:
				throw new GroupError(GROUP_ERRORS.badRequest)
		}
	}

	// ── sends to groups ──────────────────────────────────────────────────────────────────────

	/** Keeps the sender key a companion distributed for a group (in a `senderKeyDistributionMessage`). */
	rememberSenderKey(group: string, sender: string, distribution: Uint8Array): void {
		this.senderKeys.set(`${group} ${sender}`, distribution)
	}

	/** Decrypts a companion's `skmsg` to a group with the sender key it distributed. */
	async decryptGroupMessage(group: string, sender: string, ciphertext: Uint8Array): Promise<proto.IMessage | undefined> {
		const distribution = this.senderKeys.get(`${group} ${sender}`)
		if (!distribution) return undefined
		const { GroupCipher, GroupSessionBuilder, SenderKeyDistributionMessage, SenderKeyName, SenderKeyRecord } = await import(
			'@whiskeysockets/baileys/lib/Signal/Group/index.js'
		)
		const records = new Map<string, InstanceType<typeof SenderKeyRecord>>()
		const store = {
			loadSenderKey: async (name: InstanceType<typeof SenderKeyName>) => records.get(name.toString()) ?? new SenderKeyRecord(),
			storeSenderKey: async (name: InstanceType<typeof SenderKeyName>, record: InstanceType<typeof SenderKeyRecord>) => {
				records.set(name.toString(), record)
			},
		}
		// A fresh chain from the distribution each time: the stand-in reads, it never has to keep up.
		const name = new SenderKeyName(group, { id: sender, deviceId: 0, toString: () => sender })
		await new GroupSessionBuilder(store).process(name, new SenderKeyDistributionMessage(null, null, null, null, distribution))
		const plaintext = await new GroupCipher(store, name).decrypt(ciphertext)
		return proto.Message.decode(unpad(plaintext))
	}

	// ── internals ────────────────────────────────────────────────────────────────────────────

	private async createFromIq(phone: string, create: BinaryNode): Promise<BinaryNode> {
		const subject = create.attrs.subject ?? ''
		if (!subject.trim()) throw new GroupError(GROUP_ERRORS.badRequest)
		const members = getBinaryNodeChildren(create, 'participant').map((node) => this.state.personByJid(node.attrs.jid ?? '')?.phone)
		if (members.some((member) => !member)) throw new GroupError(GROUP_ERRORS.badRequest)
		const group = await this.create({ owner: phone, subject, members: members as string[] })
		return this.groupNode(group)
	}

	private async apply(group: StandInGroup, actor: string, action: GroupAction, phones: string[]) {
		const results: Array<{ phone: string; error?: number }> = []
		const done: string[] = []
		const before = new Set(group.members.keys())
		for (const phone of phones) {
			const role = phone ? group.members.get(phone) : undefined
			if (!phone) results.push({ phone, error: GROUP_ERRORS.notFound.code })
			else if (action === 'add' && role) results.push({ phone, error: GROUP_ERRORS.conflict.code })
			else if (action !== 'add' && !role) results.push({ phone, error: GROUP_ERRORS.notFound.code })
			else {
				if (action === 'add') group.members.set(phone, 'member')
				else if (action === 'remove') group.members.delete(phone)
				else if (action === 'promote') group.members.set(phone, role === 'superadmin' ? role : 'admin')
				else group.members.set(phone, role === 'superadmin' ? role : 'member')
				results.push({ phone })
				done.push(phone)
			}
		}
		if (done.length) {
			const node: BinaryNode = { tag: action, attrs: {}, content: done.map((phone) => this.participantNode(group, phone, true)) }
			// Those removed hear of it too: their companions mark the group read-only.
			await this.notify(group, actor, node, action === 'remove' ? [...before] : undefined)
		}
		return results
	}

	private mustBeAdmin(group: StandInGroup, phone: string): void {
		const role = group.members.get(phone)
		if (!role) throw new GroupError(GROUP_ERRORS.forbidden)
		if (role === 'member') throw new GroupError(GROUP_ERRORS.notAuthorized)
	}

	/** A locked (`restrict`) group's subject and description are for admins only. */
	private mayEditInfo(group: StandInGroup, phone: string): void {
		if (!group.members.has(phone)) throw new GroupError(GROUP_ERRORS.forbidden)
		if (group.restrict) this.mustBeAdmin(group, phone)
	}

	private setDescription(group: StandInGroup, phone: string, description: string, id?: string): void {
		group.description = description || undefined
		group.descriptionId = id ?? randomBytes(8).toString('hex').toUpperCase()
		group.descriptionTime = now()
		group.subjectOwner = group.subjectOwner || phone
	}

	/** How the group names a member: its LID in a LID group, its phone JID otherwise. */
	memberJid(group: StandInGroup, phone: string): string {
		const person = this.state.person(phone)
		return group.addressing === 'lid' ? lidJid(person) : pnJid(person)
	}

	private participantNode(group: StandInGroup, phone: string, withoutRole = false): BinaryNode {
		const person = this.state.person(phone)
		const role = group.members.get(phone)
		const attrs: Record<string, string> = { jid: this.memberJid(group, phone) }
		if (!withoutRole && role && role !== 'member') attrs.type = role
		if (group.addressing === 'lid') {
			if (!group.hiddenPhones.has(phone)) attrs.phone_number = pnJid(person)
		} else attrs.lid = lidJid(person)
		return { tag: 'participant', attrs }
	}

	private descriptionNode(group: StandInGroup): BinaryNode {
		const attrs: Record<string, string> = { id: group.descriptionId ?? '', t: String(group.descriptionTime ?? now()) }
		if (!group.description) return { tag: 'description', attrs: { ...attrs, delete: 'true' } }
		return { tag: 'description', attrs, content: [{ tag: 'body', attrs: {}, content: Buffer.from(group.description) }] }
	}

	/** The `<group>` node of metadata answers, `participating` lists and `create` notifications. */
	groupNode(group: StandInGroup): BinaryNode {
		const creator = this.state.person(group.creator)
		const attrs: Record<string, string> = {
			id: jidDecode(group.jid)?.user ?? group.jid,
			subject: group.subject,
			s_t: String(group.subjectTime),
			s_o: this.memberJid(group, group.subjectOwner),
			creation: String(group.creation),
			creator: this.memberJid(group, group.creator),
			size: String(group.members.size),
		}
		if (group.addressing === 'lid') {
			attrs.addressing_mode = 'lid'
			attrs.creator_pn = pnJid(creator)
		}
		const content: BinaryNode[] = [...group.members.keys()].map((phone) => this.participantNode(group, phone))
		if (group.description) content.push(this.descriptionNode(group))
		if (group.announce) content.push({ tag: 'announcement', attrs: {} })
		if (group.restrict) content.push({ tag: 'locked', attrs: {} })
		if (group.ephemeral) content.push({ tag: 'ephemeral', attrs: { expiration: String(group.ephemeral) } })
		return { tag: 'group', attrs, content }
	}

	/** A `w:gp2` notification to the companions of every member (and of `also`), from `actor`. */
	private async notify(group: StandInGroup, actor: string, child: BinaryNode, also: string[] = []): Promise<void> {
		const person: Person = this.state.person(actor)
		const attrs: Record<string, string> = {
			from: group.jid,
			type: 'w:gp2',
			id: this.host.nextTag(),
			t: String(now()),
			participant: this.memberJid(group, actor),
		}
		if (group.addressing === 'lid') {
			attrs.addressing_mode = 'lid'
			if (!group.hiddenPhones.has(person.phone)) attrs.participant_pn = pnJid(person)
		}
		const node: BinaryNode = { tag: 'notification', attrs, content: [child] }
		for (const phone of new Set([...group.members.keys(), ...also])) await this.host.pushToAccount(phone, node)
	}
}

function newInviteCode(): string {
	return randomBytes(16).toString('base64url').slice(0, 22)
}

/** Signal plaintexts end in 1–16 bytes of padding whose value is their count. */
function unpad(bytes: Uint8Array): Uint8Array {
	const n = bytes[bytes.length - 1] ?? 0
	return bytes.subarray(0, bytes.length - n)
}
