import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { createVerifiedUser } from '../helpers/accounts'
import { startTestApp, type TestApp } from '../helpers/app'
import { REPO_ROOT } from '../helpers/process'

/**
 * The Eden client from a project outside this repository: `test/fixtures/eden-consumer`, laid out
 * in a temporary folder with a node_modules of its own, as an install would leave it: its own
 * copies of elysia (with what elysia depends on) and Eden, and `@switchboard/client` built and
 * packed as docs/api.md says. Its own tsc must accept it, and it must work against a running server.
 */

const FIXTURE = join(REPO_ROOT, 'test/fixtures/eden-consumer')
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'))

let app: TestApp
let project: string
let staging: string

/** `command`, by default in the repository (so `bun x tsc` is its TypeScript), with what it printed. */
async function run(command: string[], env: Record<string, string> = {}, cwd = REPO_ROOT) {
	const child = Bun.spawn(command, { cwd, env: { ...process.env, ...env }, stdout: 'pipe', stderr: 'pipe' })
	const [out, err] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()])
	return { code: await child.exited, out, err }
}

/** A package's folder copied with links resolved: real files, as an installer writes them. */
function install(from: string, modules: string, name: string) {
	cpSync(realpathSync(from), join(modules, name), { recursive: true, dereference: true })
}

beforeAll(async () => {
	app = await startTestApp({ ROLES: 'api' })
	project = mkdtempSync(join(tmpdir(), 'eden-consumer-'))
	staging = mkdtempSync(join(tmpdir(), 'eden-client-'))
	cpSync(FIXTURE, project, { recursive: true })
	const modules = join(project, 'node_modules')
	mkdirSync(join(modules, '@elysiajs'), { recursive: true })
	// Bun's isolated store keeps each package beside what it depends on.
	const elysiaDeps = dirname(realpathSync(join(REPO_ROOT, 'node_modules/elysia')))
	for (const name of readdirSync(elysiaDeps)) if (!['typescript', '@types'].includes(name)) install(join(elysiaDeps, name), modules, name)
	install(join(REPO_ROOT, 'node_modules/@elysiajs/eden'), modules, '@elysiajs/eden')
	// The client as the recipe ships it: built, packed, and unpacked where an install puts it.
	const built = await run([process.execPath, 'packages/client/build/build.ts', join(staging, 'package')])
	expect(built.code, built.err).toBe(0)
	const packed = await run([process.execPath, 'pm', 'pack', '--ignore-scripts', '--quiet', '--destination', staging], {}, join(staging, 'package'))
	expect(packed.code, packed.err).toBe(0)
	const client = join(modules, '@switchboard/client')
	mkdirSync(client, { recursive: true })
	const unpacked = await run(['tar', '-xzf', join(staging, packed.out.trim().split('/').pop()!), '-C', client, '--strip-components=1'])
	expect(unpacked.code, unpacked.err).toBe(0)
}, 120_000)
afterAll(async () => {
	await app?.close()
	for (const dir of [project, staging]) if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('the Eden client in a project of its own', () => {
	it('asks for the same elysia as the server, as a peer', () => {
		const server = readJson(join(REPO_ROOT, 'package.json'))
		const client = readJson(join(REPO_ROOT, 'packages/client/package.json'))
		expect(client.peerDependencies).toEqual({ elysia: server.dependencies.elysia })
		// The server depends on Eden itself: the dashboard it builds and serves is an Eden client.
		expect(client.dependencies['@elysiajs/eden']).toBe(server.dependencies['@elysiajs/eden'])
		expect(readJson(join(FIXTURE, 'package.json')).dependencies.elysia).toBe(server.dependencies.elysia)
	})

	it("type-checks with the project's own tsc and its own copy of elysia", async () => {
		const checked = await run([process.execPath, 'x', 'tsc', '-p', project])
		expect(checked.out + checked.err).toBe('')
		expect(checked.code).toBe(0)
	}, 60_000)

	it("would not type-check importing the server's own App type: the layout really has two copies of elysia", async () => {
		// The way the client package replaces: the server's source brings the server's elysia along.
		mkdirSync(join(project, 'control'), { recursive: true })
		const serverApp = relative(join(project, 'control'), join(REPO_ROOT, 'src/app')).replace(/\.ts$/, '')
		writeFileSync(
			join(project, 'control/main.ts'),
			`import { treaty } from '@elysiajs/eden'\nimport type { App } from '${serverApp}'\nexport const api = treaty<App>('http://localhost:3000')\n`,
		)
		writeFileSync(join(project, 'tsconfig.control.json'), JSON.stringify({ extends: './tsconfig.json', include: ['control'] }))
		const checked = await run([process.execPath, 'x', 'tsc', '-p', join(project, 'tsconfig.control.json')])
		expect(checked.code).not.toBe(0)
		expect(checked.out).toContain('separate declarations of a private property')
	}, 60_000)

	it('calls a running server and reads typed data, the typed 400 VALIDATION_FAILED error and a file', async () => {
		const alice = await createVerifiedUser(app)
		// Bytes that are no text: read as text, as Eden reads any type it does not know, they would not survive.
		const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe, 0x80])
		const upload = await fetch(`${app.url}/media`, { method: 'POST', headers: { ...alice.headers, 'content-type': 'image/png' }, body: png })
		expect(upload.status).toBe(201)
		const { id } = (await upload.json()) as { id: string }
		const ran = await run([process.execPath, join(project, 'src/main.ts')], {
			SWITCHBOARD_URL: app.url,
			CLIENT_ADDRESS: '10.61.0.1',
			MEDIA_ID: id,
			ACCESS_TOKEN: alice.headers.authorization.replace('Bearer ', ''),
		})
		expect(ran.code, ran.err).toBe(0)
		const result = JSON.parse(ran.out)
		expect(result.health).toEqual({ status: 200, liveness: 'ok' })
		expect(result.signUp).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' })
		expect(result.signUp.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'email' })]))
		expect(result.me).toEqual({ status: 401, code: 'UNAUTHORIZED' })
		expect(result.file).toEqual({ status: 200, type: 'image/png', bytes: [...png] })
	}, 60_000)
})
