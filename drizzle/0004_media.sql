CREATE TABLE "media" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"origin" text NOT NULL,
	"session_id" uuid,
	"chat_jid" text,
	"message_id" text,
	"from_me" boolean,
	"kind" text,
	"mimetype" text NOT NULL,
	"size" bigint,
	"sha256" text,
	"file_name" text,
	"width" integer,
	"height" integer,
	"seconds" integer,
	"pages" integer,
	"state" text NOT NULL,
	"failure_reason" text,
	"media_key" "bytea",
	"direct_path" text,
	"url" text,
	"file_enc_sha256" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "media_blobs" (
	"tenant_id" uuid NOT NULL,
	"sha256" text NOT NULL,
	"storage_key" text NOT NULL,
	"size" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "media_blobs_tenant_id_sha256_pk" PRIMARY KEY("tenant_id","sha256")
);
--> statement-breakpoint
ALTER TABLE "media" ADD CONSTRAINT "media_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "media" ADD CONSTRAINT "media_session_id_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "media_blobs" ADD CONSTRAINT "media_blobs_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "media_message_idx" ON "media" USING btree ("session_id","message_id","from_me");--> statement-breakpoint
CREATE INDEX "media_tenant_sha256_idx" ON "media" USING btree ("tenant_id","sha256");