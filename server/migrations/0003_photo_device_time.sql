-- The capture time the phone reports in the manifest, used when a photo carries no
-- EXIF time of its own (the app may re-encode photos to save data, losing EXIF).
ALTER TABLE photos ADD COLUMN device_captured_at TEXT;
