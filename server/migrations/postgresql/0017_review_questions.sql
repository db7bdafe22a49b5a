-- The answers a reviewer points at when returning a visit (issue "The shopper app on
-- real phones"): a JSON list of question keys, or NULL. The app opens the returned visit
-- on the first of them and marks each in its review.
ALTER TABLE visits ADD COLUMN review_questions TEXT;
