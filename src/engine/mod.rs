//! Database access through sqlx (PostgreSQL, MySQL/MariaDB, SQLite): connections, history table,
//! locking, exactly-once execution and schema introspection. No kube.
