//! Binding an insert's parameters row after row, skipping what SQLite already holds.
//!
//! A prepared statement keeps its bindings from one execution to the next. The writer
//! inserts thousands of rows per transaction with one statement, and most rows leave many
//! columns NULL or repeat a handful of fixed values (type, severity, status): rebinding those
//! cost about a tenth of the writer's instructions per event. [`RowBinder`] remembers, per
//! parameter, whether it last bound NULL or which fixed value, and binds only what changed.
//! Every other value is bound every time.

use rusqlite::types::{Null, ToSql};
use rusqlite::Statement;

#[derive(Clone, Copy, PartialEq)]
enum Last {
    /// Nothing known: always bind.
    Unknown,
    Null,
    Fixed(&'static str),
    Other,
}

/// The bindings a statement holds, as far as this binder has set them. Start a new one for
/// every statement handed out by the statement cache (which clears bindings).
pub(crate) struct RowBinder {
    last: Vec<Last>,
}

impl RowBinder {
    /// A binder for a statement with `params` parameters (numbered from 1).
    pub(crate) fn new(params: usize) -> Self {
        RowBinder { last: vec![Last::Unknown; params + 1] }
    }

    fn slot(&mut self, i: usize) -> rusqlite::Result<&mut Last> {
        let n = self.last.len() - 1;
        // `ok_or_else`: an eagerly built error was built and dropped 58 times per row.
        self.last.get_mut(i).ok_or_else(|| rusqlite::Error::InvalidParameterCount(i, n))
    }

    /// A value that changes from row to row.
    pub(crate) fn value<T: ToSql>(
        &mut self,
        stmt: &mut Statement<'_>,
        i: usize,
        v: T,
    ) -> rusqlite::Result<()> {
        stmt.raw_bind_parameter(i, v)?;
        *self.slot(i)? = Last::Other;
        Ok(())
    }

    /// An optional value: NULL is bound only if the parameter does not hold NULL already.
    pub(crate) fn option<T: ToSql>(
        &mut self,
        stmt: &mut Statement<'_>,
        i: usize,
        v: Option<T>,
    ) -> rusqlite::Result<()> {
        match v {
            Some(v) => self.value(stmt, i, v),
            None => {
                let slot = self.slot(i)?;
                if *slot != Last::Null {
                    stmt.raw_bind_parameter(i, Null)?;
                    *slot = Last::Null;
                }
                Ok(())
            }
        }
    }

    /// One of a few fixed texts: bound only if the parameter holds another one.
    pub(crate) fn fixed(
        &mut self,
        stmt: &mut Statement<'_>,
        i: usize,
        v: &'static str,
    ) -> rusqlite::Result<()> {
        let slot = self.slot(i)?;
        if *slot != Last::Fixed(v) {
            stmt.raw_bind_parameter(i, v)?;
            *slot = Last::Fixed(v);
        }
        Ok(())
    }
}
