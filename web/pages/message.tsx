import { useRef } from 'preact/hooks'
import { fullTime, phoneOf } from '../lib/format'
import { withLinks } from '../lib/links'
import { describe, type Message } from '../lib/messages'
import { MediaView } from './media'

const TICKS: Record<string, { glyph: string; label: string }> = {
	pending: { glyph: '…', label: 'Sending' },
	server_ack: { glyph: '✓', label: 'Sent' },
	delivered: { glyph: '✓✓', label: 'Delivered' },
	read: { glyph: '✓✓', label: 'Read' },
	played: { glyph: '✓✓', label: 'Played' },
	error: { glyph: '!', label: 'Not sent' },
}
export const REACTIONS = ['👍', '❤️', '😂', '🙏']

/** A message's text with its web addresses as links, opened in a new tab; the rest stays text. */
function TextWithLinks({ text }: { text: string }) {
	return (
		<>
			{withLinks(text).map((piece, i) =>
				typeof piece === 'string' ? (
					piece
				) : (
					<a key={i} href={piece.href} target="_blank" rel="noopener noreferrer">
						{piece.text}
					</a>
				),
			)}
		</>
	)
}

/** One message of a chat: who wrote it (in a group), what it quotes and holds, its time and ticks, and what can be done with it. */
export function MessageItem({
	m,
	quoted,
	group,
	picking,
	ownReaction,
	onReply,
	onPick,
	onReact,
}: {
	m: Message
	/** The message it replies to, when shown. */
	quoted: Message | undefined
	group: boolean
	/** Whether its reaction picker is open. */
	picking: boolean
	/** This account's reaction to it. */
	ownReaction: string | undefined
	onReply: () => void
	onPick: (open: boolean) => void
	onReact: (emoji: string) => void
}) {
	const tick = m.fromMe && m.status ? TICKS[m.status] : undefined
	const reactButton = useRef<HTMLButtonElement>(null)
	return (
		<li class={`message ${m.fromMe ? 'out' : 'in'}`} data-message-id={m.id}>
			{group && !m.fromMe && (
				<p class="sender" dir="auto">
					{m.pushName ?? phoneOf(m.sender)}
				</p>
			)}
			{m.replyTo && (
				<blockquote class="quoted" dir="auto">
					{quoted ? describe(quoted) : 'A message'}
				</blockquote>
			)}
			{m.media && !m.revoked && <MediaView media={m.media} />}
			{/* Right-to-left text (Hebrew, Arabic) runs and aligns right to left, its punctuation with it. */}
			<p class="text" dir="auto">
				<TextWithLinks text={describe(m)} />
			</p>
			{m.location && !m.revoked && (
				<a
					href={`https://www.openstreetmap.org/?mlat=${m.location.latitude}&mlon=${m.location.longitude}#map=16/${m.location.latitude}/${m.location.longitude}`}
					target="_blank"
					rel="noreferrer"
				>
					Show on a map
				</a>
			)}
			{m.poll && !m.revoked && (
				<ul class="poll">
					{m.poll.options.map((o) => (
						<li key={o.name}>
							{o.name} <span class="muted">({o.votes === 1 ? '1 vote' : `${o.votes} votes`})</span>
						</li>
					))}
				</ul>
			)}
			<p class="meta">
				<time dateTime={m.timestamp}>{fullTime(m.timestamp)}</time>
				{m.editedAt && !m.revoked && <span title={`Edited ${fullTime(m.editedAt)}`}> · edited</span>}
				{tick && (
					<span class={`tick tick-${m.status}`} role="img" aria-label={tick.label} title={tick.label}>
						{tick.glyph}
					</span>
				)}
				{m.reactions.map((r) => r.emoji).join(' ')}
			</p>
			{!m.revoked && !m.local && (
				// Escape closes the picker, as it cancels a reply, and gives the focus back to the button that opened it.
				// biome-ignore lint/a11y/noStaticElementInteractions: the keys come from the buttons inside
				<div
					class="message-actions"
					onKeyDown={(e) => {
						if (e.key !== 'Escape' || !picking) return
						onPick(false)
						reactButton.current?.focus()
					}}
				>
					<button type="button" class="link" onClick={onReply} aria-label={`Reply to: ${describe(m).slice(0, 60)}`}>
						Reply
					</button>
					<button ref={reactButton} type="button" class="link" aria-expanded={picking} onClick={() => onPick(!picking)}>
						React
					</button>
					{picking &&
						REACTIONS.map((emoji) => {
							// Choosing one's own reaction again takes it back (WhatsApp's empty reaction).
							const chosen = ownReaction === emoji
							return (
								<button
									key={emoji}
									type="button"
									class="link"
									aria-pressed={chosen}
									aria-label={chosen ? `Take back your reaction ${emoji}` : `React with ${emoji}`}
									onClick={() => onReact(chosen ? '' : emoji)}
								>
									{emoji}
								</button>
							)
						})}
				</div>
			)}
		</li>
	)
}
