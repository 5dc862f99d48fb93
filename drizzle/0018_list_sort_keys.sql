DROP INDEX "session_contacts_display_idx";--> statement-breakpoint
DROP INDEX "session_groups_subject_idx";--> statement-breakpoint
CREATE INDEX "session_contacts_display_idx" ON "session_contacts" USING btree ("session_id",regexp_replace(normalize(lower(coalesce("name", "notify", "verified_name")), NFD), '[\u0300-\u036f]', '', 'g'),"jid");--> statement-breakpoint
CREATE INDEX "session_groups_subject_idx" ON "session_groups" USING btree ("session_id",regexp_replace(normalize(lower(coalesce("subject", '')), NFD), '[\u0300-\u036f]', '', 'g'),"jid");