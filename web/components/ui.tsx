import type { ComponentChildren, JSX } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { type Problem, problemOf } from '../lib/api'
import { store, useStore } from '../lib/store'

/** Polite announcements for screen readers (status changes, results of actions). */
const announcement = store({ text: '', n: 0 })
export function announce(text: string) {
	announcement.update(({ n }) => ({ text, n: n + 1 }))
}

export function Announcer() {
	const { text, n } = useStore(announcement)
	return (
		<div class="visually-hidden" role="status" aria-live="polite" aria-atomic="true">
			<span key={n}>{text}</span>
		</div>
	)
}

let nextId = 0
/** An id unique on the page, stable for the component: ties a label or a hint to its control. */
export const useId = (prefix: string) => useRef(`${prefix}-${++nextId}`).current

/** An input with its visible label, and the API's message for it, tied to it for assistive tech. */
export function Field({
	label,
	name,
	error,
	hint,
	...input
}: { label: string; name: string; error?: string | undefined; hint?: string } & JSX.InputHTMLAttributes<HTMLInputElement>) {
	const id = useId(name)
	const described = [error ? `${id}-error` : '', hint ? `${id}-hint` : ''].filter(Boolean).join(' ')
	return (
		<div class="field">
			<label for={id}>{label}</label>
			{hint && (
				<small id={`${id}-hint`} class="hint">
					{hint}
				</small>
			)}
			<input id={id} name={name} aria-invalid={error ? 'true' : undefined} aria-describedby={described || undefined} {...input} />
			{error && (
				<p id={`${id}-error`} class="field-error">
					{withCode(error)}
				</p>
			)}
		</div>
	)
}

/** The API writes names in its messages between backticks (`url`, `events`): shown as code, without them. */
function withCode(text: ComponentChildren): ComponentChildren {
	if (typeof text !== 'string' || !text.includes('`')) return text
	return text.split('`').map((part, i) => (i % 2 ? <code key={i}>{part}</code> : part))
}

/** A form's own buttons: its submit (held while it runs), and one that leaves the form. */
export function FormButtons({ submit, busy, leave, onLeave }: { submit: string; busy: boolean; leave: string; onLeave: () => void }) {
	return (
		<div class="actions">
			<button type="submit" disabled={busy}>
				{submit}
			</button>
			<button type="button" class="secondary" onClick={onLeave}>
				{leave}
			</button>
		</div>
	)
}

/** An error that is not about one field. */
export function Alert({ children }: { children: ComponentChildren }) {
	return (
		<p class="alert" role="alert">
			{withCode(children)}
		</p>
	)
}

/** A page's list that could not be loaded: why, and a button to load it again. */
export function LoadFailed({ message, onRetry }: { message: string; onRetry: () => void }) {
	return (
		<div class="alert" role="alert">
			<p>{withCode(message)}</p>
			<button type="button" class="link" onClick={onRetry}>
				Try again
			</button>
		</div>
	)
}

/**
 * A form whose submit runs `action` and shows what the API refused: next to the field `details`
 * names, or above the buttons when it names none of this form's fields.
 */
export function useForm(fieldNames: string[]) {
	const [problem, setProblem] = useState<Problem | null>(null)
	const [busy, setBusy] = useState(false)
	const run = async (action: () => Promise<{ error: { status: number; value: unknown } | null } | undefined>) => {
		setBusy(true)
		setProblem(null)
		try {
			const result = await action()
			if (result?.error) setProblem(problemOf(result.error))
			return !result?.error
		} finally {
			setBusy(false)
		}
	}
	const fieldError = (name: string) => problem?.fields[name]
	const formError = problem && !fieldNames.some((name) => problem.fields[name]) ? problem.message : null
	/** The refusal's code (`EMAIL_NOT_VERIFIED`, …), for a page that offers a way on. */
	const code = problem?.code ?? null
	return { run, busy, fieldError, formError, code, setProblem }
}

/**
 * Gives the focus back to the page's heading: after the card that held it (a deleted session, a
 * revoked key) goes, it would otherwise fall to the page's body, and the keyboard starts over.
 */
export function focusPageTitle() {
	document.querySelector<HTMLElement>('h1[tabindex="-1"]')?.focus()
}

/**
 * The page's heading, and the tab's title after it. Focus moves to it when the page changes, so
 * keyboard and screen-reader users start there. The title follows the heading's text as it changes:
 * a page that learns its name later (a chat shown by its JID until its name loads) is titled by the name.
 */
export function PageTitle({ children }: { children: ComponentChildren }) {
	const ref = useRef<HTMLHeadingElement>(null)
	useEffect(() => {
		const heading = ref.current
		if (!heading) return
		const retitle = () => {
			document.title = `${heading.textContent ?? ''} · Switchboard`
		}
		retitle()
		heading.focus()
		const observer = new MutationObserver(retitle)
		observer.observe(heading, { childList: true, characterData: true, subtree: true })
		return () => observer.disconnect()
	}, [])
	return (
		<h1 ref={ref} tabIndex={-1} dir="auto">
			{children}
		</h1>
	)
}
