-- Schema version 5 is reserved for the server-rules work (approvedBy/approvedAt), which lands
-- on another branch; this placeholder keeps the numbers contiguous on this branch and must be
-- dropped when that step is merged (two files numbered 0005 fail the contiguity check).
SELECT 1;
