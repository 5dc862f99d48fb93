import { escapeHtml } from '../lib/text'
import type { Mail } from './mailer'

/** Every mail the product sends, in one place. Links point at `PUBLIC_URL` (the web client). */

interface Recipient {
	email: string
	name: string | null
}

function link(publicUrl: string, path: string, params: Record<string, string>): string {
	const url = new URL(publicUrl + path)
	for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v)
	return url.toString()
}

function hours(seconds: number): string {
	if (seconds < 3600) return `${Math.round(seconds / 60)} minutes`
	const h = Math.round(seconds / 3600)
	return h === 1 ? '1 hour' : `${h} hours`
}

function render(to: Recipient, subject: string, lines: string[], action: { label: string; url: string }): Mail {
	const greeting = `Hello${to.name ? ` ${to.name}` : ''},`
	const text = [greeting, '', ...lines, '', `${action.label}: ${action.url}`, '', '— Switchboard'].join('\n')
	const html = [
		`<p>${escapeHtml(greeting)}</p>`,
		...lines.map((l) => `<p>${escapeHtml(l)}</p>`),
		`<p><a href="${escapeHtml(action.url)}">${escapeHtml(action.label)}</a></p>`,
		'<p>— Switchboard</p>',
	].join('\n')
	return { to: to.email, subject, text, html, link: action.url }
}

export function verificationMail(args: { publicUrl: string; to: Recipient; userId: string; token: string; ttlSeconds: number }): Mail {
	const url = link(args.publicUrl, '/verify-email', { userId: args.userId, token: args.token })
	return render(
		args.to,
		'Confirm your email address',
		[
			'Please confirm the email address of your Switchboard account.',
			`The link works once and expires in ${hours(args.ttlSeconds)}.`,
			'If you did not sign up, ignore this mail.',
		],
		{ label: 'Confirm your email', url },
	)
}

export function passwordResetMail(args: { publicUrl: string; to: Recipient; token: string; ttlSeconds: number }): Mail {
	const url = link(args.publicUrl, '/reset-password', { token: args.token })
	return render(
		args.to,
		'Reset your password',
		[
			'Someone (hopefully you) asked to reset the password of your Switchboard account.',
			`The link works once and expires in ${hours(args.ttlSeconds)}. Setting a new password signs out every device.`,
			'If it was not you, ignore this mail: your password stays as it is.',
		],
		{ label: 'Choose a new password', url },
	)
}
