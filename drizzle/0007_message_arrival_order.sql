-- Messages of one second are listed in the order they arrived (seq); 0 for those stored before,
-- which keep the order by id among themselves.
ALTER TABLE "session_messages" ADD COLUMN "seq" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "session_messages_chat_order_idx" ON "session_messages" USING btree ("session_id","chat_jid","timestamp" DESC NULLS LAST,"seq" DESC,"message_id" DESC,"from_me" DESC);--> statement-breakpoint
DROP INDEX "session_messages_chat_recent_idx";
