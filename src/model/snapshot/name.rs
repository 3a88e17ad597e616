//! Snapshot name rules, checked before anything is sent to libvirt.

/// The longest file name (one path component) Linux file systems accept, in bytes.
pub const MAX_FILE_NAME_BYTES: usize = 255;
/// The longest snapshot name libvirt can store: its metadata file `<name>.xml` is rewritten
/// through `<name>.xml.new` (virFileRewrite), which must fit [`MAX_FILE_NAME_BYTES`]
/// (measured: a 250-byte name fails with "unable to save metadata for snapshot").
pub const MAX_NAME_BYTES: usize = MAX_FILE_NAME_BYTES - ".xml.new".len();

/// Why a snapshot name is refused; `Display` is the message shown next to the field, and
/// says the concrete reason (libvirt's own rule, a file name, a QEMU snapshot ID).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("the name is empty")]
    Empty,
    #[error("a snapshot named '{0}' already exists")]
    Duplicate(String),
    #[error("'/' is not allowed: libvirt refuses it (\"name can't contain '/'\")")]
    Slash,
    #[error("a name cannot start with '.': libvirt refuses it (\"name can't start with '.'\")")]
    LeadingDot,
    #[error("{0:?} is not allowed: control characters break the overlay file names, logs and shell scripts")]
    Control(char),
    #[error("',' is not allowed: libvirt 11 passes overlay file names to qemu-img with the comma doubled, and creates the wrong file (measured)")]
    Comma,
    #[error("a name of digits only is not allowed: QEMU takes it for an internal snapshot's ID first, so a revert could restore another snapshot")]
    AllDigits,
    #[error("the name is {0} bytes; libvirt stores each snapshot's metadata in a file named after it (<name>.xml, written through <name>.xml.new), so at most 247 bytes fit a file name")]
    TooLong(usize),
    #[error("{image} still holds an internal snapshot named '{name}' that libvirt no longer lists: QEMU would keep both and a revert would restore the old one; choose another name")]
    StaleInImage { name: String, image: String },
}

/// Checks a new snapshot name: libvirt's own rules, plus the concrete hazards virtsnap knows
/// (file names, QEMU's ID-first lookup). `existing` are the domain's snapshot names,
/// `image_names` the (image, internal snapshot name) pairs its qcow2 images hold.
/// Spaces, non-ASCII letters and punctuation other than ',' are accepted, as libvirt does.
/// The overlay file name's length is checked by the plan, which knows the file names.
pub fn validate_name(
    name: &str,
    existing: &[&str],
    image_names: &[(&str, &str)],
) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.contains('/') {
        return Err(NameError::Slash);
    }
    if name.starts_with('.') {
        return Err(NameError::LeadingDot);
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(NameError::Control(c));
    }
    if name.contains(',') {
        return Err(NameError::Comma);
    }
    if name.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NameError::AllDigits);
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(NameError::TooLong(name.len()));
    }
    if existing.contains(&name) {
        return Err(NameError::Duplicate(name.to_owned()));
    }
    if let Some((image, _)) = image_names.iter().find(|(_, n)| *n == name) {
        return Err(NameError::StaleInImage {
            name: name.to_owned(),
            image: image.rsplit('/').next().unwrap_or(image).to_owned(),
        });
    }
    Ok(())
}

/// A snapshot name made from a domain name and a time stamp that [`validate_name`] accepts
/// for any domain name libvirt accepts (spaces and non-ASCII letters stay; ',', '/' and
/// control characters become '_'; a leading '.' is dropped).
pub fn default_name(domain: &str, stamp: &str) -> String {
    let cleaned: String = domain
        .chars()
        .map(|c| {
            if c == ',' || c == '/' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let cleaned = cleaned.trim_start_matches('.');
    let name = if cleaned.is_empty() {
        format!("snapshot-{stamp}")
    } else {
        format!("{cleaned}-{stamp}")
    };
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_libvirt_accepts() {
        for name in [
            "snap1",
            "web-20261126-143000",
            "a.b_c-d+e:f@g",
            "X",
            "a b",
            "caf\u{e9}",
            "\u{fc}n\u{ef} \u{e7}\u{f8}d\u{e9}",
            "<x>&\"q\"",
            "-rf",
            "$(reboot)",
            "1a",
            "v1.2",
        ] {
            assert_eq!(validate_name(name, &["other"], &[]), Ok(()), "{name}");
        }
    }

    #[test]
    fn refuses_with_the_concrete_reason() {
        let cases: &[(&str, NameError)] = &[
            ("", NameError::Empty),
            ("a/b", NameError::Slash),
            ("../x", NameError::Slash),
            (".hidden", NameError::LeadingDot),
            ("tab\there", NameError::Control('\t')),
            ("line\nbreak", NameError::Control('\n')),
            ("a,b", NameError::Comma),
            ("1", NameError::AllDigits),
            ("20261129", NameError::AllDigits),
            (&"n".repeat(248), NameError::TooLong(248)),
            ("snap1", NameError::Duplicate("snap1".into())),
        ];
        for (name, want) in cases {
            assert_eq!(
                validate_name(name, &["snap1"], &[]).as_ref(),
                Err(want),
                "{name:?}"
            );
        }
        assert!(NameError::AllDigits.to_string().contains("ID"));
        assert!(NameError::Comma.to_string().contains("qemu-img"));
    }

    #[test]
    fn a_name_left_inside_an_image_is_refused() {
        let err = validate_name("s", &[], &[("/i/web.qcow2", "s")]).unwrap_err();
        assert!(err.to_string().contains("web.qcow2"), "{err}");
        assert_eq!(validate_name("t", &[], &[("/i/web.qcow2", "s")]), Ok(()));
    }

    #[test]
    fn the_default_name_is_valid_for_any_domain_name() {
        for domain in [
            "web",
            "vtc-repro name with spaces",
            "caf\u{e9}-\u{65e5}\u{672c}",
            "a,b",
            ".hidden",
            "123",
            "tab\tname",
            "...",
        ] {
            let name = default_name(domain, "20261129-101010");
            assert_eq!(
                validate_name(&name, &[], &[]),
                Ok(()),
                "{domain:?} -> {name:?}"
            );
        }
        assert_eq!(
            default_name("vtc-repro name with spaces", "20261129-101010"),
            "vtc-repro name with spaces-20261129-101010"
        );
    }
}
