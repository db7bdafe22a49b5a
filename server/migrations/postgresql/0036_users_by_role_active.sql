-- The home page's count of active people by role, from an index alone (see the SQLite one).
CREATE INDEX users_by_role_active ON users (role, active);
