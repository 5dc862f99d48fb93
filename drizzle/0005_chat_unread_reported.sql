ALTER TABLE "session_chats" ADD COLUMN "reported_unread" integer;--> statement-breakpoint
ALTER TABLE "session_chats" ADD COLUMN "reported_unread_at" timestamp with time zone;--> statement-breakpoint
-- unread_count held WhatsApp's own count (history, a chat marked read) and nothing received after
-- it; it becomes that count plus the messages received since and not read. The messages stored
-- before now were never counted (received ones had no status): existing chats start counting now.
UPDATE "session_chats" SET "reported_unread" = coalesce("unread_count", 0), "reported_unread_at" = now();
