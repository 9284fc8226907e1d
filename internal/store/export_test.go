package store

// MigrationsForTest are the schema migrations, for tests outside the
// package that build a database as an older driftd left it.
func MigrationsForTest() []string { return migrations() }
