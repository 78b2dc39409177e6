//! `multiple-databases`: keys outside db 0, which Redis Cluster cannot hold. Moving them into
//! db 0 under a prefix costs the prefix bytes, priced per key.

use super::{Confidence, Kind, Scope, Suggestion};
use crate::analyze::Summary;
use crate::report::units::bytes;

pub fn multiple_databases(summary: &Summary, out: &mut Vec<Suggestion>) {
    for d in &summary.evidence.databases {
        let memory = summary
            .by_db
            .iter()
            .find(|r| r.db == d.db)
            .map_or(0, |r| r.stats.memory_bytes);
        out.push(Suggestion {
            kind: Kind::MultipleDatabases,
            target: format!("db {}", d.db),
            scope: Scope::Database,
            estimated_savings_bytes: -(d.prefix_bytes as i64),
            confidence: Confidence::High,
            action: format!(
                "Redis Cluster serves db 0 only: move the keys into db 0 under a prefix, per key \
                 `COPY <key> db{0}:<key> DB 0` then `UNLINK <key>` (or `MOVE <key> 0` where the \
                 names do not collide), and point the clients at db 0 with the prefix",
                d.db
            ),
            keys: d.keys,
            memory_bytes: memory,
            evidence: format!(
                "{} keys ({}) in db {}; the `db{}:` prefix adds {} of key names",
                d.keys,
                bytes(memory),
                d.db,
                d.db,
                bytes(d.prefix_bytes)
            ),
            examples: Vec::new(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advise::evidence::KeyAdvice;
    use crate::advise::test_support::{key, summary};

    #[test]
    fn one_suggestion_per_database_beyond_0() {
        let mut keys = vec![key("a", 100)];
        for name in ["b", "c"] {
            let mut k = key(name, 200);
            k.db = 3;
            k.advice = KeyAdvice {
                db_prefix_bytes: 8,
                ..KeyAdvice::default()
            };
            keys.push(k);
        }
        let s = summary(&keys, 1_000_000);
        let mut out = Vec::new();
        multiple_databases(&s, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].target, "db 3");
        assert_eq!(out[0].keys, 2);
        assert_eq!(out[0].memory_bytes, 400);
        assert_eq!(out[0].estimated_savings_bytes, -16);
    }
}
