CREATE TABLE "webhook_previous_secrets" (
	"endpoint_id" uuid NOT NULL,
	"secret" "bytea" NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "webhook_previous_secrets" ADD CONSTRAINT "webhook_previous_secrets_endpoint_id_webhook_endpoints_id_fk" FOREIGN KEY ("endpoint_id") REFERENCES "public"."webhook_endpoints"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "webhook_previous_secrets_endpoint_idx" ON "webhook_previous_secrets" USING btree ("endpoint_id","expires_at");--> statement-breakpoint
-- A secret rotated out that still signs keeps signing until its time is over.
INSERT INTO "webhook_previous_secrets" ("endpoint_id", "secret", "expires_at")
SELECT "id", "previous_secret", "previous_secret_expires_at" FROM "webhook_endpoints"
WHERE "previous_secret" IS NOT NULL AND "previous_secret_expires_at" > now();
