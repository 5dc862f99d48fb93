import { useState } from 'preact/hooks'
import { Alert, PageTitle } from '../components/ui'
import { account, signOut } from '../lib/api'
import { navigate } from '../lib/router'
import { useStore } from '../lib/store'

export function AccountPage() {
	const user = useStore(account)
	const [error, setError] = useState<string | null>(null)
	const leave = async (everywhere: boolean) => {
		try {
			await signOut(everywhere, () => navigate('/sign-in', { replace: true }))
		} catch {
			setError('Could not sign out. Check your connection and try again.')
		}
	}
	if (!user) return null
	return (
		<>
			<PageTitle>Account</PageTitle>
			<dl class="facts">
				<dt>Name</dt>
				<dd>{user.name ?? '—'}</dd>
				<dt>Email</dt>
				<dd>{user.email}</dd>
			</dl>
			{error && <Alert>{error}</Alert>}
			<div class="actions">
				<button type="button" onClick={() => leave(false)}>
					Log out
				</button>
				<button type="button" class="danger" onClick={() => leave(true)}>
					Log out everywhere
				</button>
			</div>
			<p class="muted">Logging out everywhere ends every session of this account at once, on every device.</p>
		</>
	)
}
