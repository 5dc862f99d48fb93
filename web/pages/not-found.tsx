import { PageTitle } from '../components/ui'
import { Link } from '../lib/router'

/** A dashboard path no page answers (a typed or outdated address): says so, and where to go. */
export function NotFoundPage({ path }: { path: string }) {
	return (
		<>
			<PageTitle>Page not found</PageTitle>
			<p>
				The dashboard has no page at <code>{path}</code>. Its pages are <Link href="/app/sessions">Sessions</Link>,{' '}
				<Link href="/app/integrations/keys">API keys</Link>, <Link href="/app/integrations/webhooks">Webhooks</Link> and{' '}
				<Link href="/app/account">Account</Link>.
			</p>
		</>
	)
}
