-- Every API instance caches users' token versions; a user removed from the database (by an
-- operator, or with its tenant) must lose access at once, so each removal is announced.
CREATE OR REPLACE FUNCTION switchboard_user_removed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('switchboard_user_removed', OLD.id::text);
	RETURN OLD;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER users_removed AFTER DELETE ON users FOR EACH ROW EXECUTE FUNCTION switchboard_user_removed();
