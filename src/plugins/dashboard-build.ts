import { gzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'

/**
 * The dashboard (`web/`) bundled by Bun.build, in memory: the page, and its script and stylesheet
 * under names that carry a hash of their content, so they can be cached for good. No output is
 * written or committed; the api role builds it once, on the first request for a page.
 */

export const WEB_ENTRY = fileURLToPath(new URL('../../web/index.html', import.meta.url))
/** Where the page loads its files from. */
export const ASSETS_PATH = '/assets/'

export interface DashboardAsset {
	body: Uint8Array<ArrayBuffer>
	/** The same, gzip -9: what a browser that accepts gzip downloads. */
	gzip: Uint8Array<ArrayBuffer>
	type: string
}

export interface DashboardBuild {
	/** The page, served at `/` and at every path the dashboard routes itself. */
	page: DashboardAsset
	/** The hashed files by name (`index-1a2b3c4d.js`). */
	assets: Map<string, DashboardAsset>
	/** What a first visit downloads: the page and every file it loads, gzipped. */
	firstLoad: { gzipBytes: number; files: { name: string; bytes: number; gzipBytes: number }[] }
	buildMs: number
}

export const dashboardAsset = (body: Uint8Array<ArrayBuffer>, type: string): DashboardAsset => ({ body, gzip: gzipSync(body, { level: 9 }), type })

export async function buildDashboard(): Promise<DashboardBuild> {
	const started = performance.now()
	const result = await Bun.build({
		entrypoints: [WEB_ENTRY],
		target: 'browser',
		minify: true,
		publicPath: ASSETS_PATH,
		naming: { entry: '[name]-[hash].[ext]', chunk: '[name]-[hash].[ext]', asset: '[name]-[hash].[ext]' },
		define: { 'process.env.NODE_ENV': '"production"' },
		throw: false,
	})
	if (!result.success) throw new AggregateError(result.logs, `the dashboard did not build: ${result.logs.map(String).join('; ')}`)
	let html: string | null = null
	const assets = new Map<string, DashboardAsset>()
	for (const output of result.outputs) {
		const name = output.path.replace(/^\.\//, '')
		if (name.endsWith('.html')) html = await output.text()
		else assets.set(name, dashboardAsset(new Uint8Array(await output.arrayBuffer()), output.type))
	}
	if (html === null) throw new Error('the dashboard build gave no page')
	const page = dashboardAsset(new TextEncoder().encode(html), 'text/html; charset=utf-8')
	// Everything the page names under the assets path is part of the first load.
	const loaded = [...html.matchAll(/(?:src|href)="\/assets\/([^"]+)"/g)].map((m) => m[1]!)
	const files = [
		{ name: 'index.html', bytes: page.body.byteLength, gzipBytes: page.gzip.byteLength },
		...loaded.map((name) => {
			const file = assets.get(name)
			if (!file) throw new Error(`the dashboard page loads ${name}, which the build did not produce`)
			return { name, bytes: file.body.byteLength, gzipBytes: file.gzip.byteLength }
		}),
	]
	return {
		page,
		assets,
		firstLoad: { gzipBytes: files.reduce((sum, f) => sum + f.gzipBytes, 0), files },
		buildMs: Math.round(performance.now() - started),
	}
}

let shared: Promise<DashboardBuild> | null = null

/** One build per process: the sources do not change while it runs. A failed build is tried again on the next call. */
export function dashboardBuild(): Promise<DashboardBuild> {
	shared ??= buildDashboard().catch((err) => {
		shared = null
		throw err
	})
	return shared
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`

/** `bun run build:web`: builds the dashboard and prints what a first visit downloads. */
if (import.meta.main) {
	const build = await buildDashboard()
	for (const file of build.firstLoad.files)
		console.log(`${file.name.padEnd(28)} ${kb(file.bytes).padStart(10)} ${kb(file.gzipBytes).padStart(10)} gzipped`)
	console.log(`first load: ${kb(build.firstLoad.gzipBytes)} gzipped (budget 150 KB), built in ${build.buildMs} ms`)
}
