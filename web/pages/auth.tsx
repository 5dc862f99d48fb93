import { useEffect, useState } from 'preact/hooks'
import { Alert, announce, Field, PageTitle, useForm } from '../components/ui'
import { problemOf, publicApi, signIn, signOut } from '../lib/api'
import { Link, location, navigate } from '../lib/router'
import { useStore } from '../lib/store'

/** The pages before sign-in, and where the links in mails land. */

const value = (form: HTMLFormElement, name: string) => (form.elements.namedItem(name) as HTMLInputElement).value

/**
 * Where this server puts account mail, from the page's `switchboard-mail` meta tag: by SMTP, into
 * its log (no `SMTP_URL`, outside production), or nowhere (production without `SMTP_URL`).
 */
const mailDelivery = document.querySelector<HTMLMetaElement>('meta[name="switchboard-mail"]')?.content ?? 'smtp'

/** Said beside "check your mail" when no mail actually leaves this server. */
function MailHint() {
	if (mailDelivery === 'log')
		return (
			<p class="notice">
				This server sends no mail (<code>SMTP_URL</code> is not set): the link is in its log, in the line{' '}
				<code>mail (SMTP_URL not set, not sent)</code>.
			</p>
		)
	if (mailDelivery === 'none')
		return (
			<p class="notice">
				This server has no mail set up (<code>SMTP_URL</code>), so no link goes out: ask whoever runs it.
			</p>
		)
	return null
}

/**
 * What a mailed link says when the API cannot even read it (a parameter not the shape of one: the
 * link cut off when copied), instead of the API's wording about its parameters.
 */
const BROKEN_LINK = 'This link is not valid (it may be cut off): open the link from the mail again, or ask for a new one below.'

/**
 * "Send the link again" for an address not confirmed yet: the server answers the same whether or
 * not the address has such an account, and so does this.
 */
function ResendLink({ email }: { email?: string }) {
	const form = useForm(['email'])
	// Kept in the history entry, so that a reload of the page still says where the link went.
	const [sentTo, setSentTo] = useState<string | null>(() => remembered('sentTo'))
	const onSubmit = (event: Event) => {
		event.preventDefault()
		const address = email ?? value(event.currentTarget as HTMLFormElement, 'email')
		void form.run(async () => {
			const result = await publicApi.auth['resend-verification'].post({ email: address })
			if (result.data) setSentTo(address)
			return result
		})
	}
	if (sentTo)
		return (
			<>
				<p role="status">If {sentTo} has an account to confirm, a new link is on its way.</p>
				<MailHint />
			</>
		)
	return (
		<form onSubmit={onSubmit} noValidate>
			{!email && <Field label="Email" name="email" type="email" autoComplete="email" required error={form.fieldError('email')} />}
			{form.formError && <Alert>{form.formError}</Alert>}
			<button type="submit" class="secondary" disabled={form.busy}>
				Send the link again
			</button>
		</form>
	)
}

function AuthPage({ title, children }: { title: string; children: preact.ComponentChildren }) {
	return (
		<main class="auth" id="main">
			<p class="brand">Switchboard</p>
			<PageTitle>{title}</PageTitle>
			{children}
		</main>
	)
}

export function SignInPage() {
	const form = useForm(['email', 'password'])
	const { query } = useStore(location)
	const [email, setEmail] = useState('')
	const onSubmit = (event: Event) => {
		event.preventDefault()
		const target = event.currentTarget as HTMLFormElement
		setEmail(value(target, 'email'))
		// Once signed in, the app moves on to `?next=` or the sessions.
		void form.run(() => signIn(value(target, 'email'), value(target, 'password')))
	}
	return (
		<AuthPage title="Sign in">
			{query.get('verified') && <p class="notice">Your email address is confirmed. Sign in to continue.</p>}
			{query.get('reset') && <p class="notice">Your password was changed. Sign in with the new one.</p>}
			<form onSubmit={onSubmit} noValidate>
				<Field label="Email" name="email" type="email" autoComplete="username" required error={form.fieldError('email')} />
				<Field label="Password" name="password" type="password" autoComplete="current-password" required error={form.fieldError('password')} />
				{form.formError && <Alert>{form.formError}</Alert>}
				<button type="submit" disabled={form.busy}>
					Sign in
				</button>
			</form>
			{form.code === 'EMAIL_NOT_VERIFIED' && <ResendLink email={email} />}
			<p>
				<Link href="/forgot-password">Forgot your password?</Link> · <Link href="/sign-up">Create an account</Link>
			</p>
		</AuthPage>
	)
}

/**
 * What a form page said after it was sent, kept in its history entry: a reload (or Back to it)
 * shows it again, and a link cannot make the page say it, as a query parameter could.
 */
function remember(key: string, value: string) {
	history.replaceState({ ...(history.state ?? {}), [key]: value }, '')
}

function remembered(key: string): string | null {
	const value = (history.state as Record<string, unknown> | null)?.[key]
	return typeof value === 'string' ? value : null
}

export function SignUpPage() {
	const form = useForm(['email', 'password', 'name'])
	// Kept in the history entry, so that a reload of the page still says where the link went.
	const [sentTo, setSentTo] = useState<string | null>(() => remembered('sentTo'))
	const onSubmit = (event: Event) => {
		event.preventDefault()
		const target = event.currentTarget as HTMLFormElement
		const name = value(target, 'name').trim()
		void form.run(async () => {
			const result = await publicApi.users.post({ email: value(target, 'email'), password: value(target, 'password'), ...(name ? { name } : {}) })
			if (result.data) {
				remember('sentTo', result.data.email)
				setSentTo(result.data.email)
				announce('Account created. Check your mail.')
			}
			return result
		})
	}
	if (sentTo)
		return (
			<AuthPage title="Check your mail">
				<p>
					{mailDelivery === 'smtp' ? 'We sent a link to ' : 'The account of '}
					<strong>{sentTo}</strong>
					{mailDelivery === 'smtp'
						? '. Open it to confirm your address, then sign in.'
						: ' is created. Open the link that confirms it, then sign in.'}
				</p>
				<MailHint />
				<Link href="/sign-in">Sign in</Link>
			</AuthPage>
		)
	return (
		<AuthPage title="Create an account">
			<form onSubmit={onSubmit} noValidate>
				<Field label="Name" name="name" autoComplete="name" error={form.fieldError('name')} />
				<Field label="Email" name="email" type="email" autoComplete="email" required error={form.fieldError('email')} />
				<Field
					label="Password"
					name="password"
					type="password"
					autoComplete="new-password"
					hint="At least 10 characters."
					required
					error={form.fieldError('password')}
				/>
				{form.formError && <Alert>{form.formError}</Alert>}
				<button type="submit" disabled={form.busy}>
					Create account
				</button>
			</form>
			<p>
				Already have an account? <Link href="/sign-in">Sign in</Link>
			</p>
		</AuthPage>
	)
}

export function ForgotPasswordPage() {
	const form = useForm(['email'])
	const [sent, setSent] = useState(() => remembered('resetSent') !== null)
	const onSubmit = (event: Event) => {
		event.preventDefault()
		const target = event.currentTarget as HTMLFormElement
		void form.run(async () => {
			const result = await publicApi.auth['password-reset'].post({ email: value(target, 'email') })
			if (result.data) {
				remember('resetSent', '1')
				setSent(true)
			}
			return result
		})
	}
	return (
		<AuthPage title="Reset your password">
			{sent ? (
				<>
					<p role="status">If an account has this address, a link to choose a new password is on its way.</p>
					<MailHint />
				</>
			) : (
				<form onSubmit={onSubmit} noValidate>
					<Field label="Email" name="email" type="email" autoComplete="email" required error={form.fieldError('email')} />
					{form.formError && <Alert>{form.formError}</Alert>}
					<button type="submit" disabled={form.busy}>
						Send reset link
					</button>
				</form>
			)}
			<p>
				<Link href="/sign-in">Back to sign in</Link>
			</p>
		</AuthPage>
	)
}

/** `/reset-password?token=…`, from the reset mail. */
export function ResetPasswordPage() {
	const { query } = useStore(location)
	const form = useForm(['password', 'token'])
	const token = query.get('token') ?? ''
	// A token the API refuses by its shape is a link cut off; one it does not know says so in its own words (used, expired).
	const linkError = form.code === 'VALIDATION_FAILED' && form.fieldError('token') ? BROKEN_LINK : (form.formError ?? form.fieldError('token'))
	const onSubmit = (event: Event) => {
		event.preventDefault()
		const target = event.currentTarget as HTMLFormElement
		void form.run(async () => {
			const result = await publicApi.auth['password-reset'].confirm.post({ token, password: value(target, 'password') })
			// The reset ended every sign-in of the account: this tab's and the others' too, which then ask for the new password.
			if (!result.error) await signOut(false, () => navigate('/sign-in?reset=1', { replace: true }))
			return result
		})
	}
	return (
		<AuthPage title="Choose a new password">
			<form onSubmit={onSubmit} noValidate>
				<Field label="New password" name="password" type="password" autoComplete="new-password" required error={form.fieldError('password')} />
				{!token && <Alert>This link is incomplete: open the link from the mail again, or request a new one below.</Alert>}
				{linkError && <Alert>{linkError}</Alert>}
				<button type="submit" disabled={form.busy || !token}>
					Set password
				</button>
			</form>
			<p>
				<Link href="/forgot-password">Request a new link</Link> · <Link href="/sign-in">Back to sign in</Link>
			</p>
		</AuthPage>
	)
}

/** `/verify-email?userId=…&token=…`, from the verification mail: confirms at once and says so. */
export function VerifyEmailPage() {
	const { query } = useStore(location)
	const [state, setState] = useState<{ done: boolean; error: string | null }>({ done: false, error: null })
	useEffect(() => {
		const userId = query.get('userId')
		const token = query.get('token')
		if (!userId || !token) return setState({ done: true, error: 'This link is incomplete. Open the link from the mail again.' })
		void publicApi
			.users({ id: userId })
			.verify.post({ token })
			.then(({ error }) => {
				const problem = error ? problemOf(error) : null
				setState({ done: true, error: problem && (problem.code === 'VALIDATION_FAILED' ? BROKEN_LINK : problem.message) })
			})
	}, [])
	return (
		<AuthPage title="Confirm your email">
			{!state.done ? (
				<p role="status">Confirming…</p>
			) : state.error ? (
				<Alert>{state.error}</Alert>
			) : (
				<p role="status">Your email address is confirmed.</p>
			)}
			{state.done && state.error && <ResendLink />}
			{state.done && (
				<p>
					<Link href={state.error ? '/sign-in' : '/sign-in?verified=1'}>Sign in</Link>
				</p>
			)}
		</AuthPage>
	)
}
