-- An answered call can go back into line: a blind transfer (outcome
-- transferred) or the agent's phone dying mid-call (outcome requeued). The
-- stint with the agent closes with that outcome and the next one opens.
ALTER TABLE queue_entries DROP CONSTRAINT queue_entries_outcome_check;
ALTER TABLE queue_entries ADD CONSTRAINT queue_entries_outcome_check
    CHECK (outcome IN ('answered', 'abandoned', 'overflow', 'exit', 'rejected', 'transferred', 'requeued'));
