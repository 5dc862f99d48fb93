DROP INDEX "session_chats_activity_idx";--> statement-breakpoint
DROP INDEX "session_contacts_name_idx";--> statement-breakpoint
DROP INDEX "session_messages_chat_time_idx";--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "deleted_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "session_chats_recent_idx" ON "session_chats" USING btree ("session_id","last_message_at" DESC NULLS LAST,"jid" DESC);--> statement-breakpoint
CREATE INDEX "session_contacts_display_idx" ON "session_contacts" USING btree ("session_id",lower(coalesce("name", "notify", "verified_name")),"jid");--> statement-breakpoint
CREATE INDEX "session_messages_chat_recent_idx" ON "session_messages" USING btree ("session_id","chat_jid","timestamp" DESC NULLS LAST,"message_id" DESC,"from_me" DESC);