//! Chat sessions in the index database: one row per session, every message of it, and the edit
//! runs it wrote. The session core (`src/session/`) keeps only the live window of a long session
//! in memory; the rest stays here.

use rusqlite::{OptionalExtension, params};

use super::{Result, Store, sql};

/// One session, as `vibe chat --list` shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SessionRow {
    pub id: String,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub model: String,
    /// The first user message (shortened).
    pub title: String,
    /// Messages (user and assistant) in the session.
    pub messages: usize,
    /// The summed cost of its messages, USD.
    pub cost_usd: f64,
}

/// The state a resumed session starts from.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionState {
    pub row: SessionRow,
    /// Stands for the messages before `window_start`.
    pub summary: String,
    pub window_start: usize,
    /// The messages from `window_start` on.
    pub window: Vec<TurnRow>,
    /// Edit runs written by the session, oldest first.
    pub runs: Vec<String>,
}

/// One message of a session.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TurnRow {
    /// `user` or `assistant`.
    pub role: String,
    pub text: String,
    pub time_ms: i64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
}

const ROW: &str = "SELECT s.id, s.created_ms, s.updated_ms, s.model, s.title, \
     (SELECT COUNT(*) FROM chat_turns t WHERE t.session = s.id), \
     (SELECT COALESCE(SUM(cost_usd), 0) FROM chat_turns t WHERE t.session = s.id) \
     FROM chat_sessions s";

/// How long a session without a message is kept when its process did not forget it.
const EMPTY_KEPT_MS: i64 = 7 * 24 * 3600 * 1000;

const HAS_TURNS: &str = "EXISTS (SELECT 1 FROM chat_turns t WHERE t.session = s.id)";

fn row(r: &rusqlite::Row) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        id: r.get(0)?,
        created_ms: r.get(1)?,
        updated_ms: r.get(2)?,
        model: r.get(3)?,
        title: r.get(4)?,
        messages: r.get::<_, i64>(5)? as usize,
        cost_usd: r.get(6)?,
    })
}

impl Store {
    /// Starts a session.
    pub fn create_session(&self, id: &str, model: &str, now_ms: i64) -> Result<()> {
        // Sessions that ended before their first turn are forgotten as they end
        // (`forget_if_empty`); those of a process killed before that, after a week.
        self.conn
            .execute(
                &format!(
                    "DELETE FROM chat_sessions AS s WHERE s.updated_ms < ?1 AND NOT {HAS_TURNS}"
                ),
                [now_ms - EMPTY_KEPT_MS],
            )
            .map_err(sql(&self.path))?;
        self.conn
            .execute(
                "INSERT INTO chat_sessions(id, created_ms, updated_ms, model, title) \
                 VALUES (?1, ?2, ?2, ?3, '')",
                params![id, now_ms, model],
            )
            .map_err(sql(&self.path))?;
        Ok(())
    }

    /// Forgets session `id` if it holds no message (it ended before its first turn).
    pub fn forget_if_empty(&self, id: &str) -> Result<()> {
        self.conn
            .execute(
                &format!("DELETE FROM chat_sessions AS s WHERE s.id = ?1 AND NOT {HAS_TURNS}"),
                [id],
            )
            .map_err(sql(&self.path))?;
        Ok(())
    }

    /// Every session with at least one message, the most recently updated first (a session
    /// is created as it starts; one left before its first turn holds nothing to show or resume).
    pub fn sessions(&self) -> Result<Vec<SessionRow>> {
        let e = sql(&self.path);
        let mut stmt = self
            .conn
            .prepare(&format!(
                "{ROW} WHERE {HAS_TURNS} ORDER BY s.updated_ms DESC, s.rowid DESC"
            ))
            .map_err(&e)?;
        let rows = stmt.query_map([], row).map_err(&e)?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(&e)
    }

    /// A session to resume: `id`, or for `None` the most recently updated one with at least one
    /// message.
    pub fn load_session(&self, id: Option<&str>) -> Result<Option<SessionState>> {
        let e = sql(&self.path);
        let found = match id {
            Some(id) => self
                .conn
                .query_row(&format!("{ROW} WHERE s.id = ?1"), [id], row)
                .optional(),
            None => self
                .conn
                .query_row(
                    &format!(
                        "{ROW} WHERE {HAS_TURNS} ORDER BY s.updated_ms DESC, s.rowid DESC LIMIT 1"
                    ),
                    [],
                    row,
                )
                .optional(),
        }
        .map_err(&e)?;
        let Some(row) = found else { return Ok(None) };
        let (summary, window_start): (String, i64) = self
            .conn
            .query_row(
                "SELECT summary, window_start FROM chat_sessions WHERE id = ?1",
                [&row.id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(&e)?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT role, text, time_ms, input_tokens, output_tokens, cost_usd FROM chat_turns \
                 WHERE session = ?1 AND n >= ?2 ORDER BY n",
            )
            .map_err(&e)?;
        let window = stmt
            .query_map(params![row.id, window_start], |r| {
                Ok(TurnRow {
                    role: r.get(0)?,
                    text: r.get(1)?,
                    time_ms: r.get(2)?,
                    input_tokens: r.get::<_, i64>(3)? as u64,
                    output_tokens: r.get::<_, i64>(4)? as u64,
                    cost_usd: r.get(5)?,
                })
            })
            .map_err(&e)?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(&e)?;
        let mut stmt = self
            .conn
            .prepare("SELECT run_id FROM chat_runs WHERE session = ?1 ORDER BY rowid")
            .map_err(&e)?;
        let runs = stmt
            .query_map([&row.id], |r| r.get(0))
            .map_err(&e)?
            .collect::<std::result::Result<Vec<String>, _>>()
            .map_err(&e)?;
        Ok(Some(SessionState {
            row,
            summary,
            window_start: window_start.max(0) as usize,
            window,
            runs,
        }))
    }

    /// Appends messages (a turn: the user's and the answer) after the last one stored, in one
    /// transaction, and returns the index of the first. Another process may have continued the
    /// session since this one read it: the messages then go after that process's, never over
    /// them (the caller compares the index with the one it expected). The first user message
    /// becomes the session's title.
    pub fn append_turns(&self, session: &str, rows: &[TurnRow]) -> Result<usize> {
        let e = sql(&self.path);
        let tx = self.conn.unchecked_transaction().map_err(&e)?;
        // The insert itself reads the last index: a write statement holds the write lock for
        // its whole run, so two processes cannot both take the same `n`.
        let mut first = None;
        for t in rows {
            tx.execute(
                "INSERT INTO chat_turns(session, n, role, text, time_ms, input_tokens, \
                 output_tokens, cost_usd) \
                 SELECT ?1, COALESCE(MAX(n) + 1, 0), ?2, ?3, ?4, ?5, ?6, ?7 \
                 FROM chat_turns WHERE session = ?1",
                params![
                    session,
                    t.role,
                    t.text,
                    t.time_ms,
                    t.input_tokens as i64,
                    t.output_tokens as i64,
                    t.cost_usd
                ],
            )
            .map_err(&e)?;
            if first.is_none() {
                let n: i64 = tx
                    .query_row(
                        "SELECT MAX(n) FROM chat_turns WHERE session = ?1",
                        [session],
                        |r| r.get(0),
                    )
                    .map_err(&e)?;
                first = Some(n.max(0) as usize);
            }
            let title: String = t
                .text
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(80)
                .collect();
            tx.execute(
                "UPDATE chat_sessions SET updated_ms = ?2, \
                 title = CASE WHEN title = '' AND ?3 = 'user' THEN ?4 ELSE title END WHERE id = ?1",
                params![session, t.time_ms, t.role, title],
            )
            .map_err(&e)?;
        }
        tx.commit().map_err(&e)?;
        Ok(first.unwrap_or(0))
    }

    /// Records that the messages before `window_start` are now stood for by `summary`.
    pub fn set_session_window(
        &self,
        session: &str,
        summary: &str,
        window_start: usize,
    ) -> Result<()> {
        self.conn
            .execute(
                "UPDATE chat_sessions SET summary = ?2, window_start = ?3 WHERE id = ?1",
                params![session, summary, window_start as i64],
            )
            .map_err(sql(&self.path))?;
        Ok(())
    }

    pub fn set_session_model(&self, session: &str, model: &str) -> Result<()> {
        self.conn
            .execute(
                "UPDATE chat_sessions SET model = ?2 WHERE id = ?1",
                params![session, model],
            )
            .map_err(sql(&self.path))?;
        Ok(())
    }

    /// Records an edit run written by a session (`None` for `run_id`: forget the last one, as
    /// /undo does).
    pub fn session_run(&self, session: &str, run_id: Option<&str>, now_ms: i64) -> Result<()> {
        let e = sql(&self.path);
        match run_id {
            Some(id) => self.conn.execute(
                "INSERT INTO chat_runs(session, run_id, time_ms) VALUES (?1, ?2, ?3)",
                params![session, id, now_ms],
            ),
            None => self.conn.execute(
                "DELETE FROM chat_runs WHERE rowid = \
                 (SELECT MAX(rowid) FROM chat_runs WHERE session = ?1)",
                [session],
            ),
        }
        .map_err(&e)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(role: &str, text: &str, t: i64) -> TurnRow {
        TurnRow {
            role: role.into(),
            text: text.into(),
            time_ms: t,
            input_tokens: 10,
            output_tokens: 5,
            cost_usd: 0.5,
        }
    }

    #[test]
    fn sessions_round_trip_with_window_and_runs()
    -> std::result::Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = Store::open(dir.path(), &mut |_| {})?;
        store.create_session("a", "p/m", 1)?;
        store.append_turns(
            "a",
            &[
                turn("user", "first question\nmore", 2),
                turn("assistant", "answer", 3),
            ],
        )?;
        store.append_turns("a", &[turn("user", "second", 4)])?;
        store.create_session("c", "p/m", 4)?;
        store.append_turns("c", &[turn("user", "c's", 4)])?;
        // Started later, but left before its first turn: neither listed nor resumed.
        store.create_session("b", "p/m", 5)?;
        store.set_session_window("a", "they talked", 2)?;
        store.session_run("a", Some("r1"), 4)?;
        store.session_run("a", Some("r2"), 4)?;
        store.session_run("a", None, 4)?;
        let list = store.sessions()?;
        assert_eq!(
            list.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            ["c", "a"]
        );
        assert_eq!(list[1].title, "first question");
        assert_eq!(list[1].messages, 3);
        assert!((list[1].cost_usd - 1.5).abs() < 1e-9);
        let last = store.load_session(None)?.ok_or("no last session")?;
        assert_eq!(last.row.id, "c");
        assert!(
            store.load_session(Some("b"))?.is_some(),
            "by its id it still is"
        );
        // Forgotten as it ends without a turn; another with turns is kept.
        store.forget_if_empty("b")?;
        store.forget_if_empty("c")?;
        assert!(store.load_session(Some("b"))?.is_none());
        assert!(store.load_session(Some("c"))?.is_some());
        // One left by a killed process goes after a week, when another session starts.
        store.create_session("old", "p/m", 6)?;
        store.create_session("d", "p/m", 6 + EMPTY_KEPT_MS - 1)?;
        assert!(store.load_session(Some("old"))?.is_some());
        store.create_session("e", "p/m", 7 + EMPTY_KEPT_MS)?;
        assert!(store.load_session(Some("old"))?.is_none());
        assert!(store.load_session(Some("d"))?.is_some());
        assert!(store.load_session(Some("a"))?.is_some(), "it has turns");
        let a = store.load_session(Some("a"))?.ok_or("no session a")?;
        assert_eq!(a.summary, "they talked");
        assert_eq!(a.window_start, 2);
        assert_eq!(a.window, [turn("user", "second", 4)]);
        assert_eq!(a.runs, ["r1"]);
        assert!(store.load_session(Some("zzz"))?.is_none());
        Ok(())
    }

    /// Two processes that resumed the same session both append a turn: the second goes after
    /// the first, not over it, and says where it went.
    #[test]
    fn a_turn_goes_after_another_writers_turn()
    -> std::result::Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let one = Store::open(dir.path(), &mut |_| {})?;
        let two = Store::open(dir.path(), &mut |_| {})?;
        one.create_session("a", "p/m", 1)?;
        let pair = |q: &str, a: &str| [turn("user", q, 2), turn("assistant", a, 3)];
        assert_eq!(one.append_turns("a", &pair("q1", "a1"))?, 0);
        assert_eq!(two.append_turns("a", &pair("q2", "a2"))?, 2);
        assert_eq!(one.append_turns("a", &pair("q3", "a3"))?, 4);
        let texts: Vec<String> = one
            .load_session(Some("a"))?
            .ok_or("no session")?
            .window
            .into_iter()
            .map(|t| t.text)
            .collect();
        assert_eq!(texts, ["q1", "a1", "q2", "a2", "q3", "a3"]);
        Ok(())
    }
}
