-- Each person may turn off the emails that tell them of a ticket assigned
-- to them or a shopper's reply on their ticket. NULL (the default, and
-- every existing person) means the emails are on; the time is when they
-- were turned off.
ALTER TABLE users ADD COLUMN notification_mail_off_at INTEGER;
