import { createHash } from 'node:crypto'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Elysia } from 'elysia'
import { version as uiVersion } from 'swagger-ui-dist/package.json'

/**
 * The API reference page at /swagger: Swagger UI from the installed, exact-pinned
 * `swagger-ui-dist`, served by this app. Nothing comes from a CDN, so the page works offline and
 * does not change between two deploys of the same build.
 *
 * The page is static HTML that loads three files, all from here: the Swagger UI bundle, its
 * stylesheet and a small start script (a file, not an inline script, so the policy needs no
 * 'unsafe-inline' and no hash). The files live under a path that names the Swagger UI version and
 * a digest of the start script, so a change of either is a new URL and the files can be cached for
 * a year.
 */

const DIST = dirname(fileURLToPath(import.meta.resolve('swagger-ui-dist/package.json')))

/** Renders the document at /swagger/json into #swagger-ui; the validator badge would call a remote service. */
const START_SCRIPT = `window.ui = SwaggerUIBundle({
	url: '/swagger/json',
	dom_id: '#swagger-ui',
	deepLinking: true,
	validatorUrl: null,
	presets: [SwaggerUIBundle.presets.apis],
	layout: 'BaseLayout',
})
`

const digest = createHash('sha256').update(START_SCRIPT).digest('hex').slice(0, 12)
/** The folder the page's files are served from: a new one whenever one of them changes. */
const ASSETS_VERSION = `${uiVersion}-${digest}`
const API_REFERENCE_ASSETS = `/swagger/assets/${ASSETS_VERSION}`

/**
 * What the page may load: scripts, styles and the document from this origin only. `img-src data:`
 * because swagger-ui.css draws its icons as data: URLs; no 'unsafe-inline' and no 'unsafe-eval'
 * (Swagger UI sets element styles through the DOM, which a policy does not restrict, and
 * evaluates no strings).
 */
const API_REFERENCE_CSP = [
	"default-src 'none'",
	"script-src 'self'",
	"style-src 'self'",
	"img-src 'self' data:",
	"connect-src 'self'",
	"base-uri 'none'",
	"form-action 'none'",
	"frame-ancestors 'none'",
].join('; ')

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchboard API</title>
<link rel="icon" type="image/png" href="${API_REFERENCE_ASSETS}/favicon-32x32.png">
<link rel="stylesheet" href="${API_REFERENCE_ASSETS}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${API_REFERENCE_ASSETS}/swagger-ui-bundle.js"></script>
<script src="${API_REFERENCE_ASSETS}/start.js"></script>
</body>
</html>
`

const FILES: Record<string, () => Blob> = {
	'swagger-ui-bundle.js': () => Bun.file(join(DIST, 'swagger-ui-bundle.js')),
	'swagger-ui.css': () => Bun.file(join(DIST, 'swagger-ui.css')),
	'favicon-32x32.png': () => Bun.file(join(DIST, 'favicon-32x32.png')),
	'start.js': () => new Blob([START_SCRIPT], { type: 'text/javascript; charset=utf-8' }),
}

/** A year, and `immutable`: the URL changes whenever the content does. */
const CACHE_FOREVER = 'public, max-age=31536000, immutable'

export const apiReferencePlugin = new Elysia({ name: 'api-reference' })
	.get(
		'/swagger',
		({ set }) => {
			set.headers['content-type'] = 'text/html; charset=utf-8'
			set.headers['content-security-policy'] = API_REFERENCE_CSP
			return PAGE
		},
		{ detail: { hide: true } },
	)
	// A literal path, so the route's type (which reaches the Eden client) names it; another version is not found.
	.get(
		'/swagger/assets/:version/:file',
		({ params, set, status }) => {
			const file = params.version === ASSETS_VERSION && Object.hasOwn(FILES, params.file) ? FILES[params.file] : undefined
			if (!file) return status(404, { error: { code: 'ROUTE_NOT_FOUND', message: `No asset ${params.version}/${params.file}` } })
			set.headers['cache-control'] = CACHE_FOREVER
			return file()
		},
		{ detail: { hide: true } },
	)
