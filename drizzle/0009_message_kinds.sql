CREATE TABLE "session_message_reactions" (
	"session_id" uuid NOT NULL,
	"chat_jid" text NOT NULL,
	"message_id" text NOT NULL,
	"from_me" boolean NOT NULL,
	"sender" text NOT NULL,
	"emoji" text NOT NULL,
	"at" timestamp with time zone NOT NULL,
	CONSTRAINT "session_message_reactions_session_id_chat_jid_message_id_from_me_sender_pk" PRIMARY KEY("session_id","chat_jid","message_id","from_me","sender")
);
--> statement-breakpoint
CREATE TABLE "session_poll_votes" (
	"session_id" uuid NOT NULL,
	"chat_jid" text NOT NULL,
	"message_id" text NOT NULL,
	"from_me" boolean NOT NULL,
	"voter" text NOT NULL,
	"options" text[] NOT NULL,
	"at" timestamp with time zone NOT NULL,
	CONSTRAINT "session_poll_votes_session_id_chat_jid_message_id_from_me_voter_pk" PRIMARY KEY("session_id","chat_jid","message_id","from_me","voter")
);
--> statement-breakpoint
ALTER TABLE "session_messages" ADD COLUMN "kind" text;--> statement-breakpoint
ALTER TABLE "session_messages" ADD COLUMN "kind_data" jsonb;--> statement-breakpoint
ALTER TABLE "session_messages" ADD COLUMN "media_id" uuid;--> statement-breakpoint
ALTER TABLE "session_messages" ADD COLUMN "reply_to" jsonb;--> statement-breakpoint
ALTER TABLE "session_message_reactions" ADD CONSTRAINT "session_message_reactions_session_id_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "session_poll_votes" ADD CONSTRAINT "session_poll_votes_session_id_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."sessions"("id") ON DELETE cascade ON UPDATE no action;