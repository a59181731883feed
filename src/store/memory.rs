//! The bug memory of `vibe heal` in the index database: the errors heals fixed, and how.

use rusqlite::params;

use super::{Result, Store, sql};

/// At most this many fixes are kept per repository (the oldest go first).
const KEEP: i64 = 2000;

/// One remembered fix.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Fix {
    pub time_ms: i64,
    /// The file that was healed, relative to the root.
    pub path: String,
    /// The validation stage the error came from (`syntax`, `compile`, `lint`, `test`).
    pub stage: String,
    /// The diagnostic's code (`F821`, `E0308`, `TS2322`), "" if it had none.
    pub code: String,
    /// The message with names and numbers normalised away.
    pub signature: String,
    /// The message as the validator printed it.
    pub message: String,
    /// The lines the fix removed, trimmed (what a bug coming back looks like).
    pub before: String,
    /// The fix, as a unified diff.
    pub diff: String,
}

impl Store {
    /// Remembers fixes, forgetting the oldest beyond the cap.
    pub fn remember_fixes(&mut self, fixes: &[Fix]) -> Result<()> {
        let e = sql(&self.path);
        let tx = self.conn.transaction().map_err(&e)?;
        {
            let mut ins = tx
                .prepare_cached(
                    "INSERT INTO heal_memory(time_ms, path, stage, code, signature, message, before, diff) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(&e)?;
            for f in fixes {
                ins.execute(params![
                    f.time_ms,
                    f.path,
                    f.stage,
                    f.code,
                    f.signature,
                    f.message,
                    f.before,
                    f.diff
                ])
                .map_err(&e)?;
            }
            tx.execute(
                "DELETE FROM heal_memory WHERE id NOT IN \
                 (SELECT id FROM heal_memory ORDER BY id DESC LIMIT ?1)",
                [KEEP],
            )
            .map_err(&e)?;
        }
        tx.commit().map_err(&e)
    }

    /// Every remembered fix, newest first.
    pub fn remembered_fixes(&self) -> Result<Vec<Fix>> {
        let e = sql(&self.path);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT time_ms, path, stage, code, signature, message, before, diff \
                 FROM heal_memory ORDER BY id DESC",
            )
            .map_err(&e)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Fix {
                    time_ms: r.get(0)?,
                    path: r.get(1)?,
                    stage: r.get(2)?,
                    code: r.get(3)?,
                    signature: r.get(4)?,
                    message: r.get(5)?,
                    before: r.get(6)?,
                    diff: r.get(7)?,
                })
            })
            .map_err(&e)?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(&e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixes_round_trip_newest_first() -> std::result::Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut store = Store::open(dir.path(), &mut |_| {})?;
        let fix = |n: i64| Fix {
            time_ms: n,
            path: "a.py".into(),
            stage: "lint".into(),
            code: "F821".into(),
            signature: "undefined name '_'".into(),
            message: "undefined name 'x'".into(),
            before: "return x".into(),
            diff: "-return x\n+return y\n".into(),
        };
        store.remember_fixes(&[fix(1), fix(2)])?;
        let got = store.remembered_fixes()?;
        assert_eq!(got.iter().map(|f| f.time_ms).collect::<Vec<_>>(), [2, 1]);
        assert_eq!(got[1], fix(1));
        Ok(())
    }
}
