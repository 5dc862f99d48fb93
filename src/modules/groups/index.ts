import { Elysia } from 'elysia'
import { jsonResponse } from '../../lib/json'
import type { AuthPlugin } from '../../plugins/auth'
import { errorModel, errorResponses } from '../../plugins/error-model'
import { GroupListQuery, GroupParams, groupsModels, SessionParams } from './model'
import type { GroupsService } from './service'

export interface GroupsModuleDeps {
	groups: GroupsService
	authPlugin: AuthPlugin
}

const OUTCOME =
	"Answers 202 with the command id; the outcome follows on the WebSocket as `session.command.completed` (with its result) or `session.command.failed` with WhatsApp's reason (`group_not_admin`, `group_not_member`, `group_not_found`, …), and the change itself as the group events. 409 `SESSION_NOT_CONNECTED`."
const IN_GROUP = '400 `INVALID_GROUP_JID` for a JID that is not a group; 404 `GROUP_NOT_FOUND` when the session is not in it.'

export const groupsModule = ({ groups, authPlugin }: GroupsModuleDeps) =>
	new Elysia({ name: 'groups', prefix: '/sessions', tags: ['groups'] })
		.use(errorModel)
		.use(authPlugin)
		.model(groupsModels)
		.get('/:id/groups', async ({ tenantId, params, query }) => jsonResponse(await groups.list(tenantId, params.id, query)), {
			auth: 'messages:read',
			params: SessionParams,
			query: GroupListQuery,
			response: { 200: 'GroupPage', ...errorResponses(400, 401, 403, 404) },
			detail: {
				summary: 'The groups the session is in, by subject',
				description:
					'Fetched from WhatsApp when the session connects and kept current by the group events. Keyset pagination: pass `nextCursor` back as `cursor`; it is null on the last page.',
			},
		})
		.get('/:id/groups/:jid', async ({ tenantId, params }) => jsonResponse(await groups.get(tenantId, params.id, params.jid)), {
			auth: 'messages:read',
			params: GroupParams,
			response: { 200: 'GroupDetail', ...errorResponses(400, 401, 403, 404) },
			detail: {
				summary: 'A group with its members',
				description: `Each member with its phone-number JID and LID as far as the session knows them (a LID-addressed group may show a member's phone number only later), and its role. ${IN_GROUP}`,
			},
		})
		.post('/:id/groups', async ({ tenantId, params, body, status }) => status(202, await groups.create(tenantId, params.id, body)), {
			auth: 'messages:send',
			params: SessionParams,
			body: 'CreateGroup',
			response: { 202: 'CommandAccepted', ...errorResponses(400, 401, 403, 404, 409, 413, 415) },
			detail: {
				summary: 'Create a group',
				description: `This account becomes its superadmin; the result carries the new group's \`groupJid\`. 400 \`INVALID_SUBJECT\`, \`INVALID_PARTICIPANT\`. ${OUTCOME}`,
			},
		})
		.patch('/:id/groups/:jid', async ({ tenantId, params, body, status }) => status(202, await groups.edit(tenantId, params.id, params.jid, body)), {
			auth: 'messages:send',
			params: GroupParams,
			body: 'EditGroup',
			response: { 202: 'CommandAccepted', ...errorResponses(400, 401, 403, 404, 409, 413, 415) },
			detail: {
				summary: 'Rename a group or set its description',
				description: `An empty description removes it. 400 \`INVALID_SUBJECT\`, \`INVALID_CONTENT\` (neither given). ${IN_GROUP} ${OUTCOME}`,
			},
		})
		.post(
			'/:id/groups/:jid/participants',
			async ({ tenantId, params, body, status }) =>
				status(202, await groups.changeParticipants(tenantId, params.id, params.jid, body.action, body.participants)),
			{
				auth: 'messages:send',
				params: GroupParams,
				body: 'ChangeParticipants',
				response: { 202: 'CommandAccepted', ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422) },
				detail: {
					summary: 'Add, remove, promote or demote members',
					description: `Members by phone number, phone-number JID or LID. 422 \`PARTICIPANT_NOT_IN_GROUP\` (remove, promote, demote) or \`PARTICIPANT_ALREADY_IN_GROUP\` (add), with the JIDs in \`details.participants\`; 400 \`INVALID_PARTICIPANT\`. The result lists WhatsApp's answer per member. ${IN_GROUP} ${OUTCOME}`,
				},
			},
		)
		.post('/:id/groups/:jid/leave', async ({ tenantId, params, status }) => status(202, await groups.leave(tenantId, params.id, params.jid)), {
			auth: 'messages:send',
			params: GroupParams,
			response: { 202: 'CommandAccepted', ...errorResponses(400, 401, 403, 404, 409) },
			detail: { summary: 'Leave a group', description: `The group leaves GET /sessions/:id/groups once WhatsApp confirms. ${IN_GROUP} ${OUTCOME}` },
		})
		.post(
			'/:id/groups/:jid/invite',
			async ({ tenantId, params, status }) => status(202, await groups.invite(tenantId, params.id, params.jid, false)),
			{
				auth: 'messages:send',
				params: GroupParams,
				response: { 202: 'CommandAccepted', ...errorResponses(400, 401, 403, 404, 409) },
				detail: {
					summary: "Get a group's invite link",
					description: `The result carries \`inviteCode\` and \`inviteLink\`; only admins may ask. ${IN_GROUP} ${OUTCOME}`,
				},
			},
		)
		.post(
			'/:id/groups/:jid/invite/revoke',
			async ({ tenantId, params, status }) => status(202, await groups.invite(tenantId, params.id, params.jid, true)),
			{
				auth: 'messages:send',
				params: GroupParams,
				response: { 202: 'CommandAccepted', ...errorResponses(400, 401, 403, 404, 409) },
				detail: {
					summary: "Revoke a group's invite link",
					description: `The old link stops working; the result carries the new one. ${IN_GROUP} ${OUTCOME}`,
				},
			},
		)
