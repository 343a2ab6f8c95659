-- An email a widget visitor typed proves nothing: it is kept on their own profile as unverified and
-- never links to, or claims, an address another profile may own.
ALTER TABLE contacts ADD COLUMN unverified_email TEXT;

-- A message's markdown is rendered (bounded, sanitized) once, when it is written; reads serve the
-- stored HTML. Rows written before this have none and are rendered when read.
ALTER TABLE ticket_messages ADD COLUMN body_html TEXT;

-- The chat status an agent chose, kept across consoles and restarts: opening the console makes
-- them available unless they chose away.
ALTER TABLE agents ADD COLUMN chat_status TEXT NOT NULL DEFAULT 'online';
