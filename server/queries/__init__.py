"""SQL belongs here, one module per concept (demo.py still writes a few demo rows of its
own; nothing under views/ or api/ runs SQL).

Reads take any :class:`server.db.Reader` (the read pool, or a transaction when the read
must see its own writes); writes take a :class:`server.db.Transaction`."""
