-- Mail threading. mail_message_id is the RFC 5322 Message-ID of the mail a
-- message arrived in (a shopper's) or was sent as (an agent's reply, an
-- acknowledgement), without angle brackets. A shopper's answer names ours
-- in In-Reply-To/References, which finds its ticket; the same id arriving
-- twice is the same mail. NULL: the message never crossed mail (hub, desk
-- note, API).
ALTER TABLE ticket_messages ADD COLUMN mail_message_id TEXT;
CREATE UNIQUE INDEX ticket_messages_mail_message_id ON ticket_messages(shop_id, mail_message_id)
    WHERE mail_message_id IS NOT NULL;
