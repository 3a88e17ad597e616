//! Snapshot name rules, checked before anything is sent to libvirt.

/// The longest file name (one path component) Linux file systems accept, in bytes.
pub const MAX_FILE_NAME_BYTES: usize = 255;

/// Why a snapshot name is refused; `Display` is the message shown next to the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("the name is empty")]
    Empty,
    #[error("a snapshot named '{0}' already exists")]
    Duplicate(String),
    #[error("'/' is not allowed in a snapshot name")]
    Slash,
    #[error("a snapshot name cannot start with '{0}'")]
    BadStart(char),
    #[error("{0:?} is not allowed: use letters, digits and . _ - + : @")]
    BadChar(char),
    #[error("the name is too long: overlay file name '{file}' would be {bytes} bytes, the limit is 255 (at most {max_name} bytes of name)")]
    TooLong {
        file: String,
        bytes: usize,
        max_name: usize,
    },
}

/// Checks a new snapshot name against libvirt's rules and the overlay file names it creates.
/// `disk_sources` are the source paths of the disks that may get an overlay
/// (`<source>.<name>`); `existing` are the domain's snapshot names.
pub fn validate_name(
    name: &str,
    existing: &[&str],
    disk_sources: &[&str],
) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.contains('/') {
        return Err(NameError::Slash);
    }
    if let Some(first @ ('.' | '-')) = name.chars().next() {
        return Err(NameError::BadStart(first));
    }
    // ASCII only: the name becomes part of file names and shell arguments, where look-alike
    // letters from other scripts are a trap.
    if let Some(bad) = name.chars().find(|&c| !is_name_char(c)) {
        return Err(NameError::BadChar(bad));
    }
    if existing.contains(&name) {
        return Err(NameError::Duplicate(name.to_owned()));
    }
    for source in disk_sources {
        let base = source.rsplit('/').next().unwrap_or(source);
        let bytes = base.len() + 1 + name.len();
        if bytes > MAX_FILE_NAME_BYTES {
            return Err(NameError::TooLong {
                file: format!("{base}.{name}"),
                bytes,
                max_name: MAX_FILE_NAME_BYTES.saturating_sub(base.len() + 1),
            });
        }
    }
    Ok(())
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | ':' | '@')
}

#[cfg(test)]
mod tests {
    use super::*;

    const DISK: &str = "/var/lib/libvirt/images/web.qcow2";

    #[test]
    fn accepts_ordinary_names() {
        for name in ["snap1", "web-20261126-143000", "a.b_c-d+e:f@g", "X", "9"] {
            assert_eq!(validate_name(name, &["other"], &[DISK]), Ok(()), "{name}");
        }
    }

    #[test]
    fn rejects_hostile_names_with_a_reason() {
        let cases: &[(&str, NameError)] = &[
            ("", NameError::Empty),
            ("a/b", NameError::Slash),
            ("../x", NameError::Slash),
            (".hidden", NameError::BadStart('.')),
            ("-rf", NameError::BadStart('-')),
            ("a b", NameError::BadChar(' ')),
            ("<x>", NameError::BadChar('<')),
            ("a&b", NameError::BadChar('&')),
            ("q\"", NameError::BadChar('"')),
            ("tab\there", NameError::BadChar('\t')),
            ("line\nbreak", NameError::BadChar('\n')),
            ("caf\u{e9}", NameError::BadChar('\u{e9}')),
            ("$(reboot)", NameError::BadChar('$')),
            ("snap1", NameError::Duplicate("snap1".into())),
        ];
        for (name, want) in cases {
            assert_eq!(
                validate_name(name, &["snap1"], &[DISK]).as_ref(),
                Err(want),
                "{name:?}"
            );
        }
    }

    #[test]
    fn limits_overlay_file_names_to_255_bytes() {
        // "web.qcow2" is 9 bytes, plus the dot: 245 bytes of name fit exactly.
        let fits = "a".repeat(245);
        assert_eq!(validate_name(&fits, &[], &[DISK]), Ok(()));
        let long = "a".repeat(246);
        let err = validate_name(&long, &[], &[DISK]).unwrap_err();
        assert!(matches!(
            err,
            NameError::TooLong {
                bytes: 256,
                max_name: 245,
                ..
            }
        ));
        assert!(err.to_string().contains("255"), "{err}");
        // No disks to overlay (e.g. an internal-only domain): no file name limit applies.
        assert_eq!(validate_name(&long, &[], &[]), Ok(()));
    }

    #[test]
    fn messages_name_the_problem() {
        assert_eq!(
            NameError::Slash.to_string(),
            "'/' is not allowed in a snapshot name"
        );
        assert!(NameError::BadChar(' ').to_string().contains("' '"));
        assert!(NameError::Duplicate("x".into())
            .to_string()
            .contains("'x' already exists"));
    }
}
