export { startStandIn, CHAT_PATH, type StandIn, type StartOptions, type WaitOptions } from './server'
export type { DeliverOptions, DeliveryResult, DeviceStats, KickMode, ReceiptType, StandInOptions, StandInStats } from './types'
export type { CompanionReceipt, SentMessage, StandInEvent } from './events'
export type { HistoryConversation, HistoryMessage, HistoryOptions } from './history'
