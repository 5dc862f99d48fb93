CREATE TABLE "profile_pictures" (
	"session_id" uuid NOT NULL,
	"jid" text NOT NULL,
	"tenant_id" uuid NOT NULL,
	"sha256" text,
	"mimetype" text,
	"size" bigint,
	"fetched_at" timestamp with time zone NOT NULL,
	CONSTRAINT "profile_pictures_session_id_jid_pk" PRIMARY KEY("session_id","jid")
);
--> statement-breakpoint
ALTER TABLE "profile_pictures" ADD CONSTRAINT "profile_pictures_session_id_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "profile_pictures" ADD CONSTRAINT "profile_pictures_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;