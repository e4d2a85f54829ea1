package database

import "context"

// ApplyMigration applies one migration given by its text, exactly as the
// migrator applies its embedded files (options from the first line, one
// transaction, recorded in schema_migrations), so tests can give the
// migrator a migration no release ships.
func (db *DB) ApplyMigration(ctx context.Context, version int, name, text string) error {
	return db.apply(ctx, newMigration(version, name, text))
}
