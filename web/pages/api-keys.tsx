import { useEffect, useState } from 'preact/hooks'
import { ShownOnce } from '../components/shown-once'
import { Alert, announce, Field, focusPageTitle, LoadFailed, PageTitle, useForm } from '../components/ui'
import { api, problemOf } from '../lib/api'
import { fullTime } from '../lib/format'
import { useWhenLiveAgain } from '../lib/realtime'

type ApiKey = NonNullable<Awaited<ReturnType<(typeof api)['api-keys']['get']>>['data']>['items'][number]
type CreatedKey = NonNullable<Awaited<ReturnType<(typeof api)['api-keys']['post']>>['data']>

/** The scopes a key may hold, as the API names them (docs/api.md, Scopes). */
const SCOPES = [
	['sessions:read', 'Read sessions, their state and QR code'],
	['sessions:write', 'Create, start, stop and delete sessions'],
	['messages:read', 'Read chats, messages, contacts and files; with sessions:read, follow live events'],
	['messages:send', 'Send, edit and delete messages; upload files'],
	['webhooks:manage', 'Manage webhooks'],
	['*', 'Everything, including scopes added later'],
] as const

/** The account's API keys: create one (its key shown once, to copy), list them, revoke one. */
export function ApiKeysPage() {
	const [keys, setKeys] = useState<ApiKey[] | null>(null)
	const [loadError, setLoadError] = useState<string | null>(null)
	const [created, setCreated] = useState<CreatedKey | null>(null)
	const load = async () => {
		setLoadError(null)
		const { data, error } = await api['api-keys'].get()
		if (error) setLoadError(problemOf(error).message)
		else setKeys(data.items)
	}
	useEffect(() => void load(), [])
	// A load that failed while the server was away runs again once the connection is back.
	useWhenLiveAgain(() => loadError && void load())
	return (
		<>
			<PageTitle>API keys</PageTitle>
			<p class="muted">
				Servers and integrations call the API with a key instead of signing in: send it as <code>Authorization: Bearer &lt;key&gt;</code> or{' '}
				<code>X-Api-Key</code>. A key acts for this account, within its scopes, until you revoke it.
			</p>
			{created ? (
				<ShownOnce title={`Key “${created.name}” created`} label="API key" value={created.key} onDone={() => setCreated(null)} />
			) : (
				<CreateKey
					onCreated={(key) => {
						setCreated(key)
						void load()
					}}
				/>
			)}
			{loadError && <LoadFailed message={loadError} onRetry={() => void load()} />}
			{keys === null ? (
				!loadError && <p>Loading keys…</p>
			) : keys.length === 0 ? (
				<p>No API key yet.</p>
			) : (
				<ul class="cards">
					{keys.map((key) => (
						<KeyCard key={key.id} apiKey={key} onRevoked={() => setKeys((list) => list?.filter((k) => k.id !== key.id) ?? null)} />
					))}
				</ul>
			)}
		</>
	)
}

function CreateKey({ onCreated }: { onCreated: (key: CreatedKey) => void }) {
	const form = useForm(['name', 'scopes'])
	const onSubmit = (event: Event) => {
		event.preventDefault()
		const target = event.currentTarget as HTMLFormElement
		const name = (target.elements.namedItem('name') as HTMLInputElement).value.trim()
		const scopes = [...target.querySelectorAll<HTMLInputElement>('input[name="scopes"]:checked')].map((input) => input.value)
		void form.run(async () => {
			const result = await api['api-keys'].post({ name, scopes })
			if (result.data) {
				announce(`API key ${result.data.name} created`)
				onCreated(result.data)
			}
			return result
		})
	}
	const scopesError = form.fieldError('scopes')
	return (
		<form class="create" onSubmit={onSubmit} noValidate aria-labelledby="create-key-title">
			<h2 id="create-key-title">New API key</h2>
			<Field label="Name" name="name" placeholder="CRM sync" maxLength={100} error={form.fieldError('name')} />
			<fieldset class="scopes" aria-describedby={scopesError ? 'scopes-error' : undefined}>
				<legend>Scopes</legend>
				{SCOPES.map(([scope, meaning]) => (
					<label key={scope} class="check">
						<input type="checkbox" name="scopes" value={scope} />
						<span>
							<code>{scope}</code> <span class="muted">{meaning}</span>
						</span>
					</label>
				))}
				{scopesError && (
					<p id="scopes-error" class="field-error">
						{scopesError}
					</p>
				)}
			</fieldset>
			{form.formError && <Alert>{form.formError}</Alert>}
			<button type="submit" disabled={form.busy}>
				Create key
			</button>
		</form>
	)
}

function KeyCard({ apiKey, onRevoked }: { apiKey: ApiKey; onRevoked: () => void }) {
	const [error, setError] = useState<string | null>(null)
	const [busy, setBusy] = useState(false)
	const revoke = async () => {
		if (!confirm(`Revoke the key ${apiKey.name}? Everything using it stops working at once.`)) return
		setBusy(true)
		const { error } = await api['api-keys']({ id: apiKey.id }).delete()
		setBusy(false)
		// Not found: revoked meanwhile (another tab, another user), which is what was asked.
		if (error && error.status !== 404) return setError(problemOf(error).message)
		announce(`API key ${apiKey.name} revoked`)
		focusPageTitle()
		onRevoked()
	}
	const titleId = `key-${apiKey.id}`
	return (
		<li class="card" aria-labelledby={titleId} data-key-id={apiKey.id}>
			<div class="card-head">
				<h2 id={titleId} dir="auto">
					{apiKey.name}
				</h2>
				<code>{apiKey.prefix}…</code>
			</div>
			<dl class="facts">
				<dt>Scopes</dt>
				<dd>{apiKey.scopes.join(', ')}</dd>
				<dt>Created</dt>
				<dd>
					{fullTime(apiKey.createdAt)}
					{apiKey.createdBy && ` by ${apiKey.createdBy.email}`}
				</dd>
				<dt>Last used</dt>
				<dd>{apiKey.lastUsedAt ? fullTime(apiKey.lastUsedAt) : 'Never'}</dd>
			</dl>
			{error && <Alert>{error}</Alert>}
			<div class="actions">
				<button type="button" class="danger" disabled={busy} onClick={revoke} aria-label={`Revoke ${apiKey.name}`}>
					Revoke
				</button>
			</div>
		</li>
	)
}
