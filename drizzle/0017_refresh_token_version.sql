ALTER TABLE "refresh_tokens" ADD COLUMN "token_version" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Tokens issued before the column existed carry their user's current version, so they keep working.
UPDATE "refresh_tokens" SET "token_version" = "users"."token_version" FROM "users" WHERE "users"."id" = "refresh_tokens"."user_id";
