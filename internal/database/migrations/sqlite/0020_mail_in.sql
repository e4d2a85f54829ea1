-- Mail in. body_html is a shopper's mail's HTML part, sanitised when it
-- arrived (and again whenever it is shown); '' for a message that had
-- none. content_id is the Content-ID an inline image of a mail carried,
-- without angle brackets, so the HTML's cid: references find their file;
-- '' for every other file. body_encoding says how webhook_events.body
-- holds the delivery: '' as received (text), 'base64' for raw mail that
-- is not UTF-8 text (8-bit ISO-8859-1, NUL bytes), which PostgreSQL's
-- TEXT refuses — kept byte for byte either way. outcome says what
-- processing made of an event when that was nothing ("auto-reply: no
-- ticket", "blocked sender"), for admins asking why a mail made no ticket.
ALTER TABLE ticket_messages ADD COLUMN body_html TEXT NOT NULL DEFAULT '';
ALTER TABLE attachments ADD COLUMN content_id TEXT NOT NULL DEFAULT '';
ALTER TABLE webhook_events ADD COLUMN body_encoding TEXT NOT NULL DEFAULT '';
ALTER TABLE webhook_events ADD COLUMN outcome TEXT NOT NULL DEFAULT '';
