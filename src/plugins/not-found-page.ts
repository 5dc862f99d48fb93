import { escapeHtml } from '../lib/text'

/**
 * What a browser gets for a path nothing answers (`/signup`, `/login`): a short page that names
 * the dashboard's pages and the API reference, rather than the API's JSON error. Only navigations
 * get it (a GET whose `Accept` asks for HTML first); API clients keep the JSON body.
 */

/** The page allows nothing but itself: no script, no style, no frame. */
const CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** A browser's navigation: it lists `text/html` in `Accept` (fetch and API clients send `*\/*` or JSON). */
export function wantsPage(request: Request): boolean {
	return request.method === 'GET' && /\btext\/html\b/.test(request.headers.get('accept') ?? '')
}

export function notFoundPage(pathname: string): Response {
	const html = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Not found · Switchboard</title>
<h1>No page here</h1>
<p>Switchboard has no page at <code>${escapeHtml(pathname)}</code>.</p>
<ul>
<li><a href="/sign-in">Sign in</a> or <a href="/sign-up">create an account</a> on the dashboard</li>
<li><a href="/swagger">The API reference</a></li>
</ul>
`
	return new Response(html, {
		status: 404,
		headers: { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': CSP, 'cache-control': 'no-cache' },
	})
}
