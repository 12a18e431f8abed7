//! Mapping of SQLite errors to [`StoreError`], without SQL text.

use rusqlite::ErrorCode;

use crate::StoreError;

/// Wraps a rusqlite error: `context` says what was being done; the message carries SQLite's
/// generic description of the error code (never the statement or a path).
pub(crate) fn db_err(context: &str, e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(code, _) => {
            StoreError::Database(format!("{context}: {code}"))
        }
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::InvalidColumnType(..) => {
            StoreError::Corrupt(format!("{context}: unexpected stored value"))
        }
        other => StoreError::Database(format!("{context}: {}", kind_name(&other))),
    }
}

/// True when `e` is a UNIQUE / PRIMARY KEY constraint violation.
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    match e {
        rusqlite::Error::SqliteFailure(f, _) => {
            f.code == ErrorCode::ConstraintViolation
                && (f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                    || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
        }
        _ => false,
    }
}

fn kind_name(e: &rusqlite::Error) -> &'static str {
    match e {
        rusqlite::Error::QueryReturnedNoRows => "no rows",
        rusqlite::Error::InvalidParameterCount(..) => "parameter count mismatch",
        rusqlite::Error::ToSqlConversionFailure(..) => "value could not be stored",
        _ => "internal error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_carry_no_sql() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let e = conn.execute("SELEC secret_column FROM t", []).unwrap_err();
        let msg = db_err("query events", e).to_string();
        assert!(msg.starts_with("database error: query events"), "{msg}");
        assert!(!msg.contains("secret_column") && !msg.contains("SELEC"), "{msg}");
    }
}
