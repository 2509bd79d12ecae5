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
    fn truncate_compares_only_its_lock() {
        let p = [predicted("orders", Lock::AccessExclusive, false, false)];
        let o = [seen(Some(Lock::AccessExclusive), true, 1, None)];
        assert_eq!(disagreement("truncate orders", &p, &o), None);
    }
}
