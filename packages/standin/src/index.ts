export { startStandIn, CHAT_PATH, type StandIn, type StartOptions, type WaitOptions } from './server'
export type { DeliverOptions, DeliveryResult, DeviceStats, KickMode, ReceiptType, StandInOptions, StandInStats } from './types'
export type { CompanionReceipt, SentMessage, StandInEvent } from './events'
export type { HistoryConversation, HistoryMessage, HistoryOptions } from './history'
export type { MediaControl } from './media/control'
export type { CompanionPresence, PresenceState } from './people'
export type { PeopleControl } from './people-control'
export { trustMediaCa } from './media/trust'
export type {
	ContentDeliveryResult,
	ContentKind,
	ContentSpec,
	DeliverContentOptions,
	DeliveredMediaInfo,
	MediaFileOptions,
	MediaSource,
	MessageRef,
	ReuploadResult,
	SentMedia,
} from './media/types'
