import { useEffect } from 'preact/hooks'
import { Alert, PageTitle } from '../components/ui'
import { chatList, loadMoreChats, openChatList, rememberedScroll, rememberScroll, whoWrote } from '../lib/chat-list'
import { phoneOf, shortTime } from '../lib/format'
import { describe } from '../lib/messages'
import { useWhenVisible } from '../lib/paging'
import { Link } from '../lib/router'
import { sessions } from '../lib/sessions'
import { useStore } from '../lib/store'

/** A session's chats, newest activity first, one page at a time as the list scrolls; kept live, and kept through a visit to a chat. */
export function ChatsPage({ sessionId }: { sessionId: string }) {
	const all = useStore(sessions)
	const session = all?.find((s) => s.id === sessionId)
	const list = useStore(chatList)
	const shown = list?.sessionId === sessionId ? list : null
	const chats = shown?.chats ?? []
	const cursor = shown?.cursor
	const error = shown?.error ?? null

	useEffect(() => openChatList(sessionId), [sessionId])

	// Back from a chat, the page goes where it was left (after the heading took focus, which scrolls to it).
	useEffect(() => {
		window.scrollTo(0, rememberedScroll())
		const onScroll = () => rememberScroll(window.scrollY)
		window.addEventListener('scroll', onScroll, { passive: true })
		return () => window.removeEventListener('scroll', onScroll)
	}, [sessionId])

	const sentinel = useWhenVisible(loadMoreChats, cursor !== null && cursor !== undefined)

	const crumbs = (
		<p class="crumbs">
			<Link href="/app/sessions">Sessions</Link> › {session?.name ?? 'Session'}
		</p>
	)
	// Deleted (in another tab, say) or never this account's: not a list with nothing in it.
	if (all && !session)
		return (
			<>
				{crumbs}
				<PageTitle>Chats</PageTitle>
				<Alert>Session not found</Alert>
			</>
		)

	return (
		<>
			{crumbs}
			<PageTitle>Chats</PageTitle>
			<p>
				<Link href={`/app/sessions/${sessionId}/contacts`}>Contacts</Link>
			</p>
			{error && <Alert>{error}</Alert>}
			{cursor === undefined ? (
				// A first page that failed leaves only its error: no list, and no "none yet" that would contradict it.
				!error && <p>Loading chats…</p>
			) : chats.length === 0 ? (
				<p>No chats yet. They appear here as the phone shares its history and as messages arrive.</p>
			) : (
				<ul class="list chats" aria-label="Chats">
					{chats.map((chat) => (
						<li key={chat.jid}>
							<Link href={`/app/sessions/${sessionId}/chats/${encodeURIComponent(chat.jid)}`} class="chat-link">
								{/* Names and messages may be written right to left (Hebrew, Arabic): each runs in its own direction. */}
								<span class="chat-name" dir="auto">
									{chat.displayName ?? phoneOf(chat.jid)}
								</span>
								<span class="chat-time">{shortTime(chat.lastMessageAt)}</span>
								<span class="chat-last">
									{chat.lastMessage ? (
										<>
											{whoWrote(chat)}
											<bdi>{describe({ ...chat.lastMessage, type: null })}</bdi>
										</>
									) : (
										''
									)}
								</span>
								{(chat.unreadCount ?? 0) > 0 && (
									<span class="unread">
										{chat.unreadCount}
										<span class="visually-hidden"> unread</span>
									</span>
								)}
							</Link>
						</li>
					))}
				</ul>
			)}
			{cursor && (
				<p ref={sentinel as never} class="muted">
					Loading more…
				</p>
			)}
		</>
	)
}
