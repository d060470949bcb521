-- Not reversible on SQLite without rebuilding the ledger tables; restore from a backup.
SELECT RAISE(ABORT, 'irreversible');
