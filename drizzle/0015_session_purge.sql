ALTER TABLE "sessions" ADD COLUMN "unlinked_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "sessions_deleted_idx" ON "sessions" USING btree ("deleted_at") WHERE "sessions"."deleted_at" is not null;--> statement-breakpoint
-- Every API instance runs the purge of deleted sessions' rows: a session deleted, or one whose
-- device is now unlinked, wakes them instead of waiting for their next look.
CREATE OR REPLACE FUNCTION switchboard_session_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('switchboard_session_deleted', NEW.id::text);
	RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER sessions_deleted AFTER UPDATE OF deleted_at, unlinked_at ON sessions FOR EACH ROW
	WHEN (NEW.deleted_at IS NOT NULL AND (OLD.deleted_at IS NULL OR (OLD.unlinked_at IS NULL AND NEW.unlinked_at IS NOT NULL)))
	EXECUTE FUNCTION switchboard_session_deleted();
