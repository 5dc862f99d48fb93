import { Elysia } from 'elysia'
import type { Config } from '../config'
import { errorBody } from './errors'
import { type DashboardAsset, type DashboardBuild, dashboardAsset, dashboardBuild } from './dashboard-build'

/**
 * The dashboard: a single-page app (`web/`) served at `/` by the api role. The page itself is
 * never cached (`no-cache`: a deploy takes effect on the next load); the files it loads carry a
 * hash of their content in their names and are cached for a year. Everything comes from this
 * server, so it works offline.
 *
 * The page answers at the paths the app routes itself: the public ones (sign in, sign up, the
 * password reset, and the two links mails carry, `/verify-email` and `/reset-password`) and
 * everything under `/app/`, a prefix no API route uses, so a reload of `/app/sessions` gets the
 * page while `GET /sessions` stays the API. These routes stay out of the `App` type and OpenAPI.
 *
 * The page carries what it cannot ask the API: how this server sends account mail
 * (`<meta name="switchboard-mail">`), so that after a sign-up it can say where the link went.
 */

export const DASHBOARD_PAGES = ['/', '/sign-in', '/sign-up', '/forgot-password', '/reset-password', '/verify-email', '/app', '/app/*'] as const

/**
 * What the page may do: scripts and styles from this origin only (no inline code, no eval), API
 * calls and the WebSocket to this origin ('self' covers ws: and wss: of the same host in CSP 3),
 * images from here, `data:` (the QR code drawn in the page) and `blob:` (media fetched with the
 * access token). Forms are submitted by script, never by navigation.
 */
export const DASHBOARD_CSP = [
	"default-src 'none'",
	"script-src 'self'",
	"style-src 'self'",
	"img-src 'self' data: blob:",
	"media-src 'self' blob:",
	"connect-src 'self'",
	"manifest-src 'self'",
	"base-uri 'none'",
	"form-action 'none'",
	"frame-ancestors 'none'",
].join('; ')

/** A year, and `immutable`: the URL changes whenever the content does. */
const CACHE_FOREVER = 'public, max-age=31536000, immutable'

function serve(file: DashboardAsset, request: Request, headers: Record<string, string | number>) {
	headers['content-type'] = file.type
	headers.vary = 'Accept-Encoding'
	if (/\bgzip\b/.test(request.headers.get('accept-encoding') ?? '')) {
		headers['content-encoding'] = 'gzip'
		return new Response(file.gzip)
	}
	return new Response(file.body)
}

/** The meta tag that tells the page how this server sends account mail. */
export const MAIL_META = 'switchboard-mail'

export interface DashboardOptions {
	/** How account mail leaves this server: the page says where a sign-up's link went. */
	mail: Config['mailDelivery']
	build?: () => Promise<DashboardBuild>
}

export const dashboardPlugin = ({ mail, build = dashboardBuild }: DashboardOptions) => {
	const plugin = new Elysia({ name: 'dashboard' })
	/** The built page with this server's facts in its head, made once per build. */
	const pages = new WeakMap<DashboardBuild, DashboardAsset>()
	const pageOf = (built: DashboardBuild) => {
		let page = pages.get(built)
		if (!page) {
			const html = new TextDecoder().decode(built.page.body).replace('<head>', `<head><meta name="${MAIL_META}" content="${mail}">`)
			page = dashboardAsset(new TextEncoder().encode(html), built.page.type)
			pages.set(built, page)
		}
		return page
	}
	// Registered one by one rather than chained, so that the page routes stay out of `App`.
	for (const path of DASHBOARD_PAGES)
		plugin.get(
			path,
			async ({ request, set }) => {
				const page = pageOf(await build())
				set.headers['content-security-policy'] = DASHBOARD_CSP
				set.headers['cache-control'] = 'no-cache'
				return serve(page, request, set.headers)
			},
			{ detail: { hide: true } },
		)
	plugin.get(
		'/assets/:file',
		async ({ params, request, set, status }) => {
			const { assets } = await build()
			const file = assets.get(params.file)
			if (!file) return status(404, errorBody('ROUTE_NOT_FOUND', `No asset ${params.file}`))
			set.headers['cache-control'] = CACHE_FOREVER
			return serve(file, request, set.headers)
		},
		{ detail: { hide: true } },
	)
	return plugin
}
