ALTER TABLE "media_blobs" ADD COLUMN "used_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
CREATE INDEX "media_blobs_used_idx" ON "media_blobs" USING btree ("used_at");--> statement-breakpoint
CREATE INDEX "profile_pictures_sha256_idx" ON "profile_pictures" USING btree ("tenant_id","sha256");