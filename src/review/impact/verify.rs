//! Checking the impact model against what a server did: the predicted lock, rewrite and cost
//! of each table compared with the locks, new files and scans PostgreSQL reported for the same
//! statement run in a transaction that was rolled back (`schemagate review --verify`, and the
//! model's conformance test).

use super::{Impact, Lock};

/// What a statement did to one table that existed before it, as the server reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// Table name (without schema).
    pub table: String,
    /// The strongest table lock the statement added, if any.
    pub lock: Option<Lock>,
    /// The table got a new file (rewritten or truncated).
    pub new_file: bool,
    /// Sequential scans of the table during the statement.
    pub seq_scans: i64,
    /// The strongest lock earlier statements of the same transaction already held on it (a
    /// statement asking for a lock already held shows none of its own).
    pub held_before: Option<Lock>,
}

impl Observed {
    /// Whether the statement's lock agrees with `predicted`: the same mode, or one that could not
    /// show because an earlier statement already held at least as strong a lock.
    fn lock_agrees(&self, predicted: Lock) -> bool {
        self.lock == Some(predicted)
            || (self.lock.is_none_or(|l| l < predicted)
                && self.held_before.is_some_and(|h| h >= predicted))
    }
}

/// Where the prediction for statement `sql` differs from what was observed; `None` when they
/// agree. Weak locks taken on other tables (a foreign key check reading its parent) are not
/// modelled and not reported.
#[must_use]
pub fn disagreement(sql: &str, predicted: &[Impact], observed: &[Observed]) -> Option<String> {
    let truncate = sql
        .trim_start()
        .get(..8)
        .is_some_and(|w| w.eq_ignore_ascii_case("TRUNCATE"));
    let bare = |table: &str| {
        table
            .rsplit('.')
            .next()
            .unwrap_or(table)
            .trim_matches('"')
            .to_owned()
    };
    let mut problems = Vec::new();
    for o in observed {
        let Some(p) = predicted.iter().find(|i| bare(&i.table) == o.table) else {
            if o.lock.is_some_and(|l| l >= Lock::ShareUpdateExclusive) || o.new_file {
                problems.push(format!(
                    "{}: not predicted, observed {}{}",
                    o.table,
                    o.lock.map_or("no lock", Lock::as_str),
                    if o.new_file { " and a new file" } else { "" }
                ));
            }
            continue;
        };
        // TRUNCATE gives the table a new, empty file (and PostgreSQL counts one scan of it):
        // neither costs time proportional to the old size, so only its lock is compared.
        let scanned = o.seq_scans > 0 || o.new_file;
        let new_file = p.rewrite || truncate;
        let cost_differs = !truncate && scanned != p.proportional();
        if !o.lock_agrees(p.lock) || new_file != o.new_file || cost_differs {
            problems.push(format!(
                "{}: predicted {}{}{}, observed {}{}{}",
                o.table,
                p.lock.as_str(),
                if p.rewrite { ", rewrite" } else { "" },
                if p.proportional() {
                    ", cost grows with size"
                } else {
                    ""
                },
                o.lock.map_or("no lock", Lock::as_str),
                if o.new_file { ", new file" } else { "" },
                if o.seq_scans > 0 { ", full scan" } else { "" },
            ));
        }
    }
    for p in predicted.iter().filter(|p| !p.new_table) {
        if !observed.iter().any(|o| o.table == bare(&p.table)) {
            problems.push(format!(
                "{}: predicted {} but no lock was seen",
                p.table,
                p.lock.as_str()
            ));
        }
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

/// What verification found for one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The server did what the model predicted.
    AsPredicted,
    /// Where the prediction was wrong ([`disagreement`]).
    Differs(String),
    /// The server refused the statement in a transaction (an error, or a statement such as
    /// `CREATE INDEX CONCURRENTLY` that cannot run in one); it and what follows were not checked.
    Refused(String),
}

/// The verdict on one statement that has a predicted or an observed impact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementVerdict {
    /// 0-based index of the statement in the script.
    pub statement: usize,
    /// 1-based line where it starts.
    pub line: usize,
    /// What was found.
    pub verdict: Verdict,
}

/// One statement of a verified script: its index, line and text.
#[derive(Debug, Clone, Copy)]
pub struct Step<'a> {
    /// 0-based index in the script.
    pub statement: usize,
    /// 1-based line.
    pub line: usize,
    /// The statement's text.
    pub text: &'a str,
}

/// Compares the prediction for each statement (`predicted`, every impact of the script) with
/// what the server reported for it (`observed`, in statement order; an `Err` where the server
/// refused it, after which nothing was run). Statements with neither a predicted nor an observed
/// impact are left out.
#[must_use]
pub fn compare(
    steps: &[Step<'_>],
    predicted: &[Impact],
    observed: Vec<Result<Vec<Observed>, String>>,
) -> Vec<StatementVerdict> {
    let mut verdicts = Vec::new();
    for (step, seen) in steps.iter().zip(observed) {
        let mine: Vec<Impact> = predicted
            .iter()
            .filter(|i| i.statement == step.statement)
            .cloned()
            .collect();
        let verdict = match seen {
            Err(e) => Verdict::Refused(e),
            Ok(seen) if mine.is_empty() && seen.is_empty() => continue,
            Ok(seen) => match disagreement(step.text, &mine, &seen) {
                None => Verdict::AsPredicted,
                Some(d) => Verdict::Differs(d),
            },
        };
        let stop = matches!(verdict, Verdict::Refused(_));
        verdicts.push(StatementVerdict {
            statement: step.statement,
            line: step.line,
            verdict,
        });
        if stop {
            break;
        }
    }
    verdicts
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn predicted(table: &str, lock: Lock, rewrite: bool, scan: bool) -> Impact {
        Impact {
            statement: 0,
            line: 1,
            table: table.into(),
            lock,
            algorithm: None,
            rewrite,
            scan,
            new_table: false,
            rows: None,
            bytes: None,
            reason: "r".into(),
            safer: None,
        }
    }

    fn seen(lock: Option<Lock>, new_file: bool, scans: i64, held: Option<Lock>) -> Observed {
        Observed {
            table: "orders".into(),
            lock,
            new_file,
            seq_scans: scans,
            held_before: held,
        }
    }

    #[test]
    fn agreement_and_each_kind_of_miss() {
        let rewrite = [predicted(
            "public.orders",
            Lock::AccessExclusive,
            true,
            false,
        )];
        let ok = [seen(Some(Lock::AccessExclusive), true, 0, None)];
        assert_eq!(disagreement("ALTER TABLE …", &rewrite, &ok), None);
        let no_rewrite = [seen(Some(Lock::AccessExclusive), false, 0, None)];
        let miss = disagreement("ALTER TABLE …", &rewrite, &no_rewrite).unwrap();
        assert!(
            miss.contains("predicted ACCESS EXCLUSIVE, rewrite"),
            "{miss}"
        );
        let weaker = [seen(Some(Lock::ShareUpdateExclusive), true, 0, None)];
        assert!(disagreement("ALTER TABLE …", &rewrite, &weaker).is_some());
        assert!(
            disagreement("ALTER TABLE …", &rewrite, &[])
                .unwrap()
                .contains("no lock was seen")
        );
        let unpredicted = disagreement("ALTER TABLE …", &[], &ok).unwrap();
        assert!(unpredicted.contains("not predicted"), "{unpredicted}");
    }

    #[test]
    fn a_lock_already_held_by_an_earlier_statement_agrees() {
        let share = [predicted("orders", Lock::Share, false, true)];
        let masked = [seen(None, false, 1, Some(Lock::AccessExclusive))];
        assert_eq!(disagreement("CREATE INDEX …", &share, &masked), None);
        let not_held = [seen(None, false, 1, None)];
        assert!(disagreement("CREATE INDEX …", &share, &not_held).is_some());
    }

    #[test]
    fn compare_reports_each_statement_with_an_impact_and_stops_at_a_refusal() {
        let steps = [
            Step {
                statement: 0,
                line: 1,
                text: "ALTER TABLE orders ALTER a TYPE bigint",
            },
            Step {
                statement: 1,
                line: 2,
                text: "SELECT 1",
            },
            Step {
                statement: 2,
                line: 3,
                text: "CREATE INDEX CONCURRENTLY i ON orders (a)",
            },
            Step {
                statement: 3,
                line: 4,
                text: "ALTER TABLE orders ADD b int",
            },
        ];
        let p = [predicted("orders", Lock::AccessExclusive, true, false)];
        let observed = vec![
            Ok(vec![seen(Some(Lock::AccessExclusive), true, 0, None)]),
            Ok(vec![]),
            Err("cannot run inside a transaction block".to_owned()),
            Ok(vec![]),
        ];
        let verdicts = compare(&steps, &p, observed);
        assert_eq!(verdicts.len(), 2, "{verdicts:?}");
        assert_eq!(verdicts[0].verdict, Verdict::AsPredicted);
        assert_eq!((verdicts[1].statement, verdicts[1].line), (2, 3));
        assert!(matches!(&verdicts[1].verdict, Verdict::Refused(e) if e.contains("transaction")));
        let wrong = compare(
            &steps[..1],
            &p,
            vec![Ok(vec![seen(Some(Lock::AccessExclusive), false, 0, None)])],
        );
        assert!(
            matches!(&wrong[0].verdict, Verdict::Differs(d) if d.contains("predicted ACCESS EXCLUSIVE, rewrite"))
        );
    }

    #[test]
    fn truncate_compares_only_its_lock() {
        let p = [predicted("orders", Lock::AccessExclusive, false, false)];
        let o = [seen(Some(Lock::AccessExclusive), true, 1, None)];
        assert_eq!(disagreement("truncate orders", &p, &o), None);
    }
}
