import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks'
import { Alert } from '../components/ui'
import { api, problemOf, UNREACHABLE } from '../lib/api'
import { describe, type Message } from '../lib/messages'
import { useWhenLiveAgain } from '../lib/realtime'
import { Link } from '../lib/router'

type Upload = { mediaId: string }
/** The kinds a file goes out as. */
const KINDS = { image: true, video: true, audio: true, document: true }
/** The send body for a file, by its type: a photo, a video, audio, or any other file as a document. */
function fileContent(file: File, upload: Upload, caption: string) {
	const withCaption = caption ? { caption } : {}
	if (file.type.startsWith('image/')) return { image: upload, ...withCaption }
	if (file.type.startsWith('video/')) return { video: upload, ...withCaption }
	if (file.type.startsWith('audio/')) return { audio: upload }
	return { document: upload, fileName: file.name, ...withCaption }
}

/** How long a reply waits, again and again, for the message it quotes to be stored. */
const STORE_WAITS_MS = [250, 500, 1000, 2000, 4000]

/** The box to write a message (text, a file, a reply), sent with POST /chats/:jid/messages. */
export function Composer({
	sessionId,
	jid,
	replyTo,
	onCancelReply,
	onSent,
	notConnected,
}: {
	sessionId: string
	jid: string
	/** The session's status, as a label, while it is not connected (nothing can be sent then); null when it is. */
	notConnected: string | null
	replyTo: Message | null
	onCancelReply: () => void
	onSent: (message: Message) => void
}) {
	const [text, setText] = useState('')
	const [file, setFile] = useState<File | null>(null)
	const [error, setError] = useState<string | null>(null)
	const [busy, setBusy] = useState(false)
	const fileInput = useRef<HTMLInputElement>(null)
	const textArea = useRef<HTMLTextAreaElement>(null)
	// A send that found the server away says so until the connection is back, not until the next send.
	useWhenLiveAgain(() => setError((shown) => (shown === UNREACHABLE ? null : shown)))

	type Content = NonNullable<Parameters<ReturnType<typeof api.chats>['messages']['post']>[0]>
	/**
	 * Posts one message and shows it at once, pending; false when the API refused it (its message
	 * shown). A message shown live is stored a moment after it arrives, and a reply to it needs it
	 * stored: a reply refused as naming no message is tried again for a few seconds.
	 */
	const post = async (content: Content, shown: string | null, quoting: Message | null) => {
		const attempt = () => api.chats({ jid }).messages.post({ ...content, ...(quoting ? { replyTo: quoting.id } : {}) }, { query: { sessionId } })
		let result = await attempt()
		for (const wait of quoting ? STORE_WAITS_MS : []) {
			if (problemOf(result.error).code !== 'MESSAGE_NOT_FOUND') break
			await new Promise((resolve) => setTimeout(resolve, wait))
			result = await attempt()
		}
		if (result.error) {
			const problem = problemOf(result.error)
			setError(
				quoting && problem.code === 'MESSAGE_NOT_FOUND'
					? 'The message you are replying to is not saved yet. Try again in a moment.'
					: // A refused field reads as its own sentence ("Text must be at most … characters long").
						(Object.values(problem.fields)[0] ?? problem.message),
			)
			return false
		}
		const { data } = result
		onSent({
			id: data.messageId,
			chatJid: data.chatJid,
			fromMe: true,
			sender: null,
			senderPn: null,
			senderLid: null,
			pushName: null,
			timestamp: new Date().toISOString(),
			// Microseconds of the clock, as the runner numbers arrivals: after everything shown so far.
			seq: Date.now() * 1000,
			type: 'text' in content ? 'conversation' : null,
			text: shown,
			status: 'pending',
			editedAt: null,
			revoked: false,
			kind: 'text' in content ? 'text' : ((Object.keys(content).find((k) => k in KINDS) as Message['kind'] | undefined) ?? 'other'),
			media: null,
			location: null,
			contacts: null,
			poll: null,
			replyTo: quoting ? { id: quoting.id } : null,
			reactions: [],
			content: null,
			local: true,
		})
		return true
	}

	const send = async (event: Event) => {
		event.preventDefault()
		const body = text.trim()
		if (!body && !file) return
		setBusy(true)
		setError(null)
		try {
			if (file) {
				const uploaded = await api.media.post({ file })
				if (uploaded.error) return setError(problemOf(uploaded.error).message)
				const content = fileContent(file, { mediaId: (uploaded.data as { id: string }).id }, body)
				if (!(await post(content, 'caption' in content ? body || file.name : file.name, replyTo))) return
				// Audio carries no caption on WhatsApp: what was written goes right after it, as a message of its own.
				if (body && !('caption' in content) && !('fileName' in content) && !(await post({ text: body }, body, null))) return
			} else if (!(await post({ text: body }, body, replyTo))) return
			setText('')
			removeFile()
		} finally {
			setBusy(false)
		}
	}

	const removeFile = () => {
		setFile(null)
		if (fileInput.current) fileInput.current.value = ''
	}

	// The box is as tall as what is written; the style's max-height stops it at about eight lines, and it scrolls from there.
	useLayoutEffect(() => {
		const box = textArea.current
		if (!box) return
		box.style.height = 'auto'
		box.style.height = `${box.scrollHeight + box.offsetHeight - box.clientHeight}px`
	}, [text])

	// Choosing a message to reply to puts the cursor in the box.
	useEffect(() => {
		if (replyTo) textArea.current?.focus()
	}, [replyTo])

	return (
		<form class="composer" onSubmit={send}>
			{replyTo && (
				<p class="replying">
					Replying to: <q>{describe(replyTo).slice(0, 80)}</q>{' '}
					<button type="button" class="link" onClick={onCancelReply}>
						Cancel reply
					</button>
				</p>
			)}
			{error && <Alert>{error}</Alert>}
			{notConnected && (
				<p class="notice">
					This session is not connected ({notConnected}): messages can be sent once it is. Start it on the <Link href="/app/sessions">Sessions</Link>{' '}
					page if it has stopped.
				</p>
			)}
			<div class="composer-row">
				<label class="visually-hidden" for="message-text">
					Message
				</label>
				<textarea
					ref={textArea}
					id="message-text"
					name="text"
					rows={1}
					placeholder={file ? 'Caption' : 'Write a message'}
					value={text}
					onInput={(e) => setText((e.currentTarget as HTMLTextAreaElement).value)}
					onKeyDown={(e) => {
						if (e.key === 'Escape' && replyTo) onCancelReply()
						// Enter while an input method composes (Japanese, Chinese, Korean) confirms the word; it sends only after.
						if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
							e.preventDefault()
							;(e.currentTarget as HTMLTextAreaElement).form?.requestSubmit()
						}
					}}
				/>
				<label class="button secondary attach">
					Attach
					<input
						ref={fileInput}
						type="file"
						class="visually-hidden"
						aria-label="Attach a file"
						onChange={(e) => setFile((e.currentTarget as HTMLInputElement).files?.[0] ?? null)}
					/>
				</label>
				<button type="submit" disabled={busy || Boolean(notConnected) || (!text.trim() && !file)}>
					Send
				</button>
			</div>
			{file && (
				<p class="muted">
					Attached: {file.name}{' '}
					<button type="button" class="link" onClick={removeFile} aria-label={`Remove ${file.name}`}>
						Remove
					</button>
				</p>
			)}
		</form>
	)
}
