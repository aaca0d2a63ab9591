//! Integration tests: the real router on a random port, against SQLite and PostgreSQL.

mod helpers;

mod foundation;
