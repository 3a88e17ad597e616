//! Choosing the domains a bulk command works on: names, shell-style globs and "all", resolved
//! against the names the connection lists. Pure.

/// What the command line asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Domains named one by one, in the order given.
    pub names: Vec<String>,
    /// `--match` patterns: `*` any run of characters, `?` one character, `[abc]`, `[a-z]`,
    /// `[!abc]` one of (not one of) a set, `\x` a literal x. Matched against the whole name.
    pub globs: Vec<String>,
    /// Every domain the connection lists.
    pub all: bool,
}

impl Selection {
    /// Nothing was asked for.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && self.globs.is_empty() && !self.all
    }
}

/// Why a selection chose nothing to work on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectionError {
    #[error("no domain was chosen: name one, or use --match GLOB or --all")]
    Nothing,
    #[error("--match {0:?} matches no domain")]
    NoMatch(String),
    #[error("--all: the connection lists no domain")]
    NoDomains,
}

/// The chosen domains: the named ones first, in the order given (also names the connection
/// does not list: the command reports each as not found), then the matched ones sorted by
/// name; each once.
pub fn select(sel: &Selection, listed: &[String]) -> Result<Vec<String>, SelectionError> {
    if sel.is_empty() {
        return Err(SelectionError::Nothing);
    }
    let mut out: Vec<String> = Vec::new();
    let push = |n: &str, out: &mut Vec<String>| {
        if !out.iter().any(|o| o == n) {
            out.push(n.to_string());
        }
    };
    for n in &sel.names {
        push(n, &mut out);
    }
    let mut sorted: Vec<&String> = listed.iter().collect();
    sorted.sort();
    if sel.all {
        if listed.is_empty() {
            return Err(SelectionError::NoDomains);
        }
        for n in &sorted {
            push(n, &mut out);
        }
    }
    for g in &sel.globs {
        let hits: Vec<&&String> = sorted.iter().filter(|n| glob_match(g, n)).collect();
        if hits.is_empty() {
            return Err(SelectionError::NoMatch(g.clone()));
        }
        for n in hits {
            push(n, &mut out);
        }
    }
    Ok(out)
}

/// Whether `text` matches the shell-style `pattern` as a whole (see [`Selection::globs`]).
/// An unclosed `[` is a literal `[`.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was, and the text position it currently swallows up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        let step = match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
                continue;
            }
            Some('?') => Some(pi + 1),
            Some('[') => match class(&p, pi, t[ti]) {
                Some((true, next)) => Some(next),
                Some((false, _)) => None,
                None => (t[ti] == '[').then_some(pi + 1),
            },
            Some('\\') if pi + 1 < p.len() => (p[pi + 1] == t[ti]).then_some(pi + 2),
            Some(c) => (*c == t[ti]).then_some(pi + 1),
            None => None,
        };
        match (step, star) {
            (Some(next), _) => {
                pi = next;
                ti += 1;
            }
            // Let the last `*` swallow one more character and try again from there.
            (None, Some((sp, st))) => {
                star = Some((sp, st + 1));
                pi = sp + 1;
                ti = st + 1;
            }
            (None, None) => return false,
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Matches `c` against the class starting at `p[at] == '['`: (matched, index after `]`), or
/// None when the class is not closed.
fn class(p: &[char], at: usize, c: char) -> Option<(bool, usize)> {
    let mut i = at + 1;
    let negate = matches!(p.get(i), Some('!') | Some('^'));
    if negate {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    loop {
        let lo = *p.get(i)?;
        // A `]` right after `[` (or `[!`) is a member, as in the shell.
        if lo == ']' && !first {
            return Some((hit != negate, i + 1));
        }
        first = false;
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|h| *h != ']') {
            let hi = p[i + 2];
            hit |= lo <= c && c <= hi;
            i += 3;
        } else {
            hit |= lo == c;
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_names() {
        let yes = [
            ("web-*", "web-01"),
            ("web-*", "web-"),
            ("*", ""),
            ("*-db", "prod-db"),
            ("w?b", "web"),
            ("web-0[1-3]", "web-02"),
            ("web-0[!1-3]", "web-07"),
            ("*a*b*c*", "xxaxxbxxcxx"),
            ("[]]x", "]x"),
            ("a[b", "a[b"),
            ("\\*", "*"),
            ("caf\u{e9}-*", "caf\u{e9}-1"),
            ("vm name *", "vm name with spaces"),
        ];
        for (p, t) in yes {
            assert!(glob_match(p, t), "{p} ~ {t}");
        }
        let no = [
            ("web-*", "xweb-01"),
            ("web", "web-01"),
            ("w?b", "wb"),
            ("web-0[1-3]", "web-04"),
            ("web-0[!1-3]", "web-01"),
            ("*a*b*c", "abcx"),
            ("\\*", "x"),
        ];
        for (p, t) in no {
            assert!(!glob_match(p, t), "{p} !~ {t}");
        }
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn selection_is_names_then_matches_each_once() {
        let listed = names(&["web-2", "db-1", "web-1", "mail"]);
        let sel = Selection {
            names: names(&["mail", "gone"]),
            globs: names(&["web-*", "*-1"]),
            all: false,
        };
        assert_eq!(
            select(&sel, &listed).unwrap(),
            names(&["mail", "gone", "web-1", "web-2", "db-1"])
        );
        let all = Selection {
            all: true,
            ..Default::default()
        };
        assert_eq!(
            select(&all, &listed).unwrap(),
            names(&["db-1", "mail", "web-1", "web-2"])
        );
    }

    #[test]
    fn a_selection_that_chooses_nothing_is_an_error() {
        let listed = names(&["web-1"]);
        assert_eq!(
            select(&Selection::default(), &listed),
            Err(SelectionError::Nothing)
        );
        let sel = Selection {
            globs: names(&["db-*"]),
            ..Default::default()
        };
        assert_eq!(
            select(&sel, &listed),
            Err(SelectionError::NoMatch("db-*".into()))
        );
        let all = Selection {
            all: true,
            ..Default::default()
        };
        assert_eq!(select(&all, &[]), Err(SelectionError::NoDomains));
    }
}
