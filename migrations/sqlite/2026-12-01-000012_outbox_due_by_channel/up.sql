-- While the e-mail budget is spent, the outbox job claims only partners' webhooks. Without this
-- index that claim walked every pending e-mail (outbox_due orders by time, not by channel) on
-- every pass: a full scan of the backlog several times a second, after a rush or a programme's
-- worth of donations, exactly when the backlog is largest.
CREATE INDEX outbox_due_by_channel ON outbox (channel, status, next_attempt_at);
