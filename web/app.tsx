import type { ComponentChildren } from 'preact'
import { useEffect, useLayoutEffect, useRef } from 'preact/hooks'
import { Announcer } from './components/ui'
import { account } from './lib/api'
import { connection, refusal } from './lib/realtime'
import { Link, location, match, navigate } from './lib/router'
import { useStore } from './lib/store'
import { AccountPage } from './pages/account'
import { ApiKeysPage } from './pages/api-keys'
import { ForgotPasswordPage, ResetPasswordPage, SignInPage, SignUpPage, VerifyEmailPage } from './pages/auth'
import { ChatPage } from './pages/chat'
import { ChatsPage } from './pages/chats'
import { ContactsPage } from './pages/contacts'
import { NotFoundPage } from './pages/not-found'
import { SessionsPage } from './pages/sessions'
import { WebhooksPage } from './pages/webhooks'

/** Pages anyone may open; the links in mails land on the last two. */
const PUBLIC = {
	'/sign-in': SignInPage,
	'/sign-up': SignUpPage,
	'/forgot-password': ForgotPasswordPage,
	'/reset-password': ResetPasswordPage,
	'/verify-email': VerifyEmailPage,
} as const

/** A session id in a page's path: anything else is no page (rather than the API's validation error on the page). */
const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * Pages of a signed-in user, first match wins. A page of one session or chat is keyed by it: going
 * to another (a link, the browser's history) starts a page of its own, so nothing of the last one
 * (a reply being written, a draft, an error) stays on it.
 */
const SIGNED_IN: [string, (params: Record<string, string>) => preact.JSX.Element][] = [
	['/app/sessions', () => <SessionsPage />],
	['/app/sessions/:id/chats', ({ id }) => <ChatsPage key={id} sessionId={id!} />],
	['/app/sessions/:id/chats/:jid', ({ id, jid }) => <ChatPage key={`${id}/${jid}`} sessionId={id!} jid={jid!} />],
	['/app/sessions/:id/contacts', ({ id }) => <ContactsPage key={id} sessionId={id!} />],
	['/app/integrations/keys', () => <ApiKeysPage />],
	['/app/integrations/webhooks', () => <WebhooksPage />],
	['/app/account', () => <AccountPage />],
]

function Shell({ children }: { children: ComponentChildren }) {
	const live = useStore(connection)
	const refused = useStore(refusal)
	const { path } = useStore(location)
	const current = (prefix: string) => (path.startsWith(prefix) ? 'page' : undefined)
	// Pages that fill the screen (a chat) take what the top bar leaves, however many lines it wraps onto.
	const top = useRef<HTMLElement>(null)
	useLayoutEffect(() => {
		const header = top.current
		if (!header) return
		const observer = new ResizeObserver(() => document.documentElement.style.setProperty('--topbar', `calc(${header.offsetHeight}px + 2rem)`))
		observer.observe(header)
		return () => observer.disconnect()
	}, [])
	return (
		<>
			<a class="skip" href="#main">
				Skip to content
			</a>
			<header class="top" ref={top}>
				<span class="brand">Switchboard</span>
				<nav aria-label="Main">
					<Link href="/app/sessions" aria-current={current('/app/sessions')}>
						Sessions
					</Link>
					<Link href="/app/integrations/keys" aria-current={current('/app/integrations/keys')}>
						API keys
					</Link>
					<Link href="/app/integrations/webhooks" aria-current={current('/app/integrations/webhooks')}>
						Webhooks
					</Link>
					<Link href="/app/account" aria-current={current('/app/account')}>
						Account
					</Link>
				</nav>
				<span class={`live live-${live}`} title="Live updates">
					{live === 'live' ? 'Live' : live === 'connecting' ? 'Connecting…' : 'Offline'}
				</span>
			</header>
			<main id="main">
				{refused && (
					<p class="notice" role="status">
						Live updates are off: the server refused the connection ({refused}). This page tries again on its own.
					</p>
				)}
				{children}
			</main>
		</>
	)
}

export function App() {
	const user = useStore(account)
	const { path, query } = useStore(location)
	const trimmed = path.replace(/\/+$/, '')
	const publicPage = PUBLIC[path as keyof typeof PUBLIC]
	const signedInPage = SIGNED_IN.map(([pattern, page]) => [match(pattern, path), page] as const).find(
		([params]) => params && (params.id === undefined || SESSION_ID.test(params.id)),
	)
	// A path below /app/ that no page answers is the dashboard's own 404, behind sign-in like its pages.
	const unknownAppPage = !signedInPage && /^\/app\/./.test(trimmed)

	useEffect(() => {
		if (user === undefined) return
		if (path === '/' || trimmed === '/app' || (!publicPage && !signedInPage && !unknownAppPage))
			navigate(user ? '/app/sessions' : '/sign-in', { replace: true })
		else if (!user && (signedInPage || unknownAppPage)) navigate(`/sign-in?next=${encodeURIComponent(path)}`, { replace: true })
		else if (user && (path === '/sign-in' || path === '/sign-up')) {
			// Only a path of this app: `next` comes from the URL, which anyone can craft.
			const next = query.get('next')
			navigate(next?.startsWith('/app/') ? next : '/app/sessions', { replace: true })
		}
	}, [user, path])

	let page: ComponentChildren = null
	if (publicPage) {
		const Page = publicPage
		page = <Page />
	} else if (user && signedInPage) page = <Shell>{signedInPage[1](signedInPage[0]!)}</Shell>
	else if (user && unknownAppPage)
		page = (
			<Shell>
				<NotFoundPage path={path} />
			</Shell>
		)
	else if (user === undefined) page = <p class="loading">Loading…</p>
	return (
		<>
			{page}
			<Announcer />
		</>
	)
}
