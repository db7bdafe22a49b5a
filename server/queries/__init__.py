"""SQL belongs here, one module per concept (views/compare.py, views/visit_report.py,
views/self_assessment.py and demo.py still hold a few statements to move here).

Reads take any :class:`server.db.Reader` (the read pool, or a transaction when the read
must see its own writes); writes take a :class:`server.db.Transaction`."""
