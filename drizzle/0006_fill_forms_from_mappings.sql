-- A contact or chat shows both forms (phone JID and LID) whenever the session knows the pair; the
-- projection fills a missing form as rows and mappings arrive, and this fills the rows stored
-- before it did.
UPDATE "session_contacts" AS t SET "lid_jid" = m."lid"
	FROM (SELECT "session_id", "pn", min("lid") AS "lid" FROM "session_lid_mappings" GROUP BY "session_id", "pn") AS m
	WHERE t."lid_jid" IS NULL AND m."session_id" = t."session_id" AND m."pn" = t."jid";--> statement-breakpoint
UPDATE "session_contacts" AS t SET "pn_jid" = m."pn"
	FROM "session_lid_mappings" AS m
	WHERE t."pn_jid" IS NULL AND m."session_id" = t."session_id" AND m."lid" = t."jid";--> statement-breakpoint
UPDATE "session_chats" AS t SET "lid_jid" = m."lid"
	FROM (SELECT "session_id", "pn", min("lid") AS "lid" FROM "session_lid_mappings" GROUP BY "session_id", "pn") AS m
	WHERE t."lid_jid" IS NULL AND m."session_id" = t."session_id" AND m."pn" = t."jid";--> statement-breakpoint
UPDATE "session_chats" AS t SET "pn_jid" = m."pn"
	FROM "session_lid_mappings" AS m
	WHERE t."pn_jid" IS NULL AND m."session_id" = t."session_id" AND m."lid" = t."jid";
