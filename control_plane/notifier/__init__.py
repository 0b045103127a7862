"""Alert delivery: the dataflow writes alert events to an outbox in the SQL database; the
notifier sends them to the Telegram chat linked to the node owner, retrying until Telegram
takes them, so the dataflow never waits on Telegram and an outage delays alerts but loses none."""
