CREATE TABLE "session_group_participants" (
	"session_id" uuid NOT NULL,
	"group_jid" text NOT NULL,
	"participant" text NOT NULL,
	"lid_jid" text,
	"pn_jid" text,
	"role" text DEFAULT 'member' NOT NULL,
	"present" boolean NOT NULL,
	"at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "session_group_participants_session_id_group_jid_participant_pk" PRIMARY KEY("session_id","group_jid","participant")
);
--> statement-breakpoint
CREATE TABLE "session_groups" (
	"session_id" uuid NOT NULL,
	"jid" text NOT NULL,
	"subject" text,
	"description" text,
	"owner" text,
	"owner_pn" text,
	"size" integer,
	"announce" boolean,
	"restrict" boolean,
	"ephemeral" integer,
	"addressing_mode" text,
	"created_at" timestamp with time zone,
	"versions" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "session_groups_session_id_jid_pk" PRIMARY KEY("session_id","jid")
);
--> statement-breakpoint
ALTER TABLE "session_group_participants" ADD CONSTRAINT "session_group_participants_session_id_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "session_groups" ADD CONSTRAINT "session_groups_session_id_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "session_groups_subject_idx" ON "session_groups" USING btree ("session_id",lower(coalesce("subject", '')),"jid");