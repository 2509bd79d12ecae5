//! MySQL/MariaDB introspection (filled in next).
use crate::snapshot::{Dialect, Schema};
use sqlx::MySqlConnection;
pub(crate) async fn snapshot(_c: &mut MySqlConnection) -> Result<Schema, sqlx::Error> {
    Ok(Schema::new(Dialect::Mysql))
}
