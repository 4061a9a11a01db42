-- Why a facility declined a proposal (issue 18, Sendai 003: 「受入れ先となり得る施設、受入れに係る
-- 課題等の把握を進めていく」), as one of fixed reasons so that they can be counted
-- (src/placement/declines.rs): full (満床), medical_care (医療的ケアに対応できない), behaviour
-- (強度行動障害に対応できない), sex (性別・相部屋), staffing (職員体制), other (with the facility's
-- words in `answer_reason`). Set only on the hold whose facility declined: the other segments
-- of a split stay, released with it, keep ''.
ALTER TABLE placement_holds ADD COLUMN decline_reason TEXT NOT NULL DEFAULT ''
    CHECK (decline_reason IN ('', 'full', 'medical_care', 'behaviour', 'sex', 'staffing', 'other'));

-- Declines answered before the fixed reasons were free text: other. (A segment that had
-- accepted before another facility declined also has an answer; it was rare enough to accept
-- the miscount for the old rows.)
UPDATE placement_holds SET decline_reason = 'other'
 WHERE status = 'declined' AND answered_at IS NOT NULL AND answer_reason <> '';
