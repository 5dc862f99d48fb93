import { useEffect, useRef, useState } from 'preact/hooks'
import { announce } from './ui'

/**
 * A secret the API shows once (an API key, a webhook's signing secret): selected, with a copy
 * button, since it is not stored and cannot be shown again.
 */
export function ShownOnce({ title, label, value, onDone }: { title: string; label: string; value: string; onDone: () => void }) {
	const [copied, setCopied] = useState(false)
	const input = useRef<HTMLInputElement>(null)
	const id = `shown-once-${label.toLowerCase().replace(/\W+/g, '-')}`
	useEffect(() => input.current?.select(), [])
	const copy = async () => {
		try {
			await navigator.clipboard.writeText(value)
			setCopied(true)
			announce(`${label} copied`)
		} catch {
			// No clipboard access (an insecure origin): the value is selected for a manual copy.
			input.current?.select()
		}
	}
	return (
		<section class="create" aria-labelledby={`${id}-title`}>
			<h2 id={`${id}-title`}>{title}</h2>
			<p>Copy it now: it is shown only this once.</p>
			<div class="field">
				<label for={id}>{label}</label>
				<input id={id} ref={input} readOnly value={value} class="secret" spellcheck={false} />
			</div>
			<div class="actions">
				<button type="button" onClick={copy}>
					{copied ? 'Copied' : `Copy ${label.split(' ').at(-1)!.toLowerCase()}`}
				</button>
				<button type="button" class="secondary" onClick={onDone}>
					Done
				</button>
			</div>
		</section>
	)
}
