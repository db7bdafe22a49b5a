"""SQL lives here, one module per concept. Reads take any :class:`server.db.Reader`
(the read pool, or a transaction when the read must see its own writes); writes take
a :class:`server.db.Transaction`."""
