//! Redis glob patterns (`KEYS`/`SCAN MATCH` syntax, `stringmatchlen`): `*`, `?`, `[abc]`,
//! `[^a-z]`, and `\` to escape, matched on bytes.

/// A compiled pattern; matching is iterative with one backtrack point, so it is linear-ish
/// and cannot blow up on hostile patterns the way naive recursion does.
#[derive(Debug, Clone)]
pub struct Glob {
    pattern: Vec<u8>,
}

impl Glob {
    pub fn new(pattern: &str) -> Glob {
        Glob {
            pattern: pattern.as_bytes().to_vec(),
        }
    }

    pub fn is_match(&self, text: &[u8]) -> bool {
        let p = &self.pattern;
        let (mut pi, mut ti) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while ti < text.len() {
            if pi < p.len() && p[pi] == b'*' {
                while pi < p.len() && p[pi] == b'*' {
                    pi += 1;
                }
                if pi == p.len() {
                    return true;
                }
                star = Some((pi, ti));
                continue;
            }
            if pi < p.len()
                && let Some(next) = match_one(p, pi, text[ti])
            {
                pi = next;
                ti += 1;
                continue;
            }
            match star {
                Some((sp, st)) => {
                    pi = sp;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            }
        }
        p[pi..].iter().all(|&c| c == b'*')
    }
}

/// Matches one text byte against the pattern element at `pi`; returns the index after it.
fn match_one(p: &[u8], pi: usize, c: u8) -> Option<usize> {
    match p[pi] {
        b'?' => Some(pi + 1),
        b'\\' if pi + 1 < p.len() => (p[pi + 1] == c).then_some(pi + 2),
        b'[' => {
            let mut i = pi + 1;
            let negate = p.get(i) == Some(&b'^');
            if negate {
                i += 1;
            }
            let mut matched = false;
            // Like Redis, an unterminated class runs to the end of the pattern.
            while i < p.len() && p[i] != b']' {
                if p[i] == b'\\' && i + 1 < p.len() {
                    matched |= p[i + 1] == c;
                    i += 2;
                } else if i + 2 < p.len() && p[i + 1] == b'-' && p[i + 2] != b']' {
                    let (lo, hi) = (p[i].min(p[i + 2]), p[i].max(p[i + 2]));
                    matched |= (lo..=hi).contains(&c);
                    i += 3;
                } else {
                    matched |= p[i] == c;
                    i += 1;
                }
            }
            let end = if i < p.len() { i + 1 } else { i };
            (matched != negate).then_some(end)
        }
        other => (other == c).then_some(pi + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::Glob;

    fn m(p: &str, t: &str) -> bool {
        Glob::new(p).is_match(t.as_bytes())
    }

    #[test]
    fn redis_glob_semantics() {
        assert!(m("*", ""));
        assert!(m("user:*", "user:1:profile"));
        assert!(m("user:*:profile", "user:1:profile"));
        assert!(!m("user:*:profile", "user:1:settings"));
        assert!(m("h?llo", "hello"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("h[b-a]llo", "hallo"));
        assert!(m("a\\*b", "a*b"));
        assert!(!m("a\\*b", "axb"));
        assert!(m("*a*b*c*", "xxaxxbxxcxx"));
        assert!(!m("*a*b*c*", "xxaxxcxxbxx"));
    }

    #[test]
    fn no_exponential_backtracking() {
        let text = "a".repeat(10_000);
        assert!(!m("*a*a*a*a*a*a*a*a*b", &text));
    }
}
