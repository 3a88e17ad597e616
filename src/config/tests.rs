use std::path::Path;
use std::time::Duration;

use super::*;

fn parsed(text: &str) -> Result<Config, ConfigError> {
    parse(Path::new("/etc/x/config.toml"), text)
}

fn error(text: &str) -> ConfigError {
    parsed(text).expect_err("should be refused")
}

/// The example shipped in assets/, with its settings uncommented (lines `#key = ...` and
/// `#[table]`; prose comments start with `# `).
pub(crate) fn example_uncommented() -> String {
    include_str!("../../assets/config.toml")
        .lines()
        .map(|l| match l.strip_prefix('#') {
            Some(rest) if !rest.starts_with(' ') && !rest.is_empty() => rest,
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn an_empty_file_is_all_defaults() {
    let c = parsed("").unwrap();
    assert_eq!(c.hosts, vec![]);
    assert_eq!(c.shutdown_timeout, Duration::from_secs(120));
    assert_eq!(c.stale_snapshot_age, Duration::from_secs(3 * 86_400));
    assert!(!c.ascii);
    assert!(c.color);
    assert!(c.keys.views.is_empty());
    assert_eq!(c.path.as_deref(), Some(Path::new("/etc/x/config.toml")));
}

#[test]
fn the_shipped_example_parses_as_shipped_and_uncommented() {
    let shipped = parsed(include_str!("../../assets/config.toml")).unwrap();
    assert_eq!(shipped.hosts, vec![]);
    let c = parsed(&example_uncommented()).unwrap();
    assert_eq!(
        c.hosts,
        vec![
            HostConfig {
                name: "local".into(),
                uri: "qemu:///system".into()
            },
            HostConfig {
                name: "hv02".into(),
                uri: "qemu+ssh://root@hv02.example.org/system".into()
            },
        ]
    );
    assert_eq!(c.shutdown_timeout, Duration::from_secs(120));
    assert_eq!(c.stale_snapshot_age, Duration::from_secs(3 * 86_400));
    let domains = &c.keys.view("domains").unwrap().remaps;
    assert_eq!(domains[0].action, "shutdown");
    assert_eq!(domains[0].keys[0].0, "H");
    assert_eq!(domains[1].action, "snapshot");
    assert_eq!(domains[1].keys.len(), 2);
}

#[test]
fn every_setting_is_read() {
    let c = parsed(
        "shutdown_timeout = 45\nstale_snapshot_age = \"36h\"\nascii = true\ncolor = false\n\
         [[host]]\nname = \"a\"\nuri = \"test:///default\"\n",
    )
    .unwrap();
    assert_eq!(c.shutdown_timeout, Duration::from_secs(45));
    assert_eq!(c.stale_snapshot_age, Duration::from_secs(36 * 3_600));
    assert!(c.ascii);
    assert!(!c.color);
    assert_eq!(c.hosts[0].uri, "test:///default");
}

#[test]
fn lengths_of_time_take_every_unit() {
    for (text, secs) in [
        ("90", 90),
        ("90s", 90),
        ("15m", 900),
        ("2h", 7_200),
        ("3d", 259_200),
        ("1w", 604_800),
    ] {
        assert_eq!(
            duration::parse(text),
            Ok(Duration::from_secs(secs)),
            "{text}"
        );
    }
}

#[test]
fn a_syntax_error_names_its_line() {
    let e = error("ascii = true\ncolor = \n");
    assert_eq!(e.line, Some(2), "{e}");
    assert_eq!(e.key.as_deref(), Some("color"), "{e}");
    assert!(e
        .to_string()
        .starts_with("config file /etc/x/config.toml, line 2"));
}

#[test]
fn an_unknown_key_is_named() {
    let e = error("ascii = true\n\ncolour = false\n");
    assert_eq!((e.line, e.key.as_deref()), (Some(3), Some("colour")));
    assert!(e.message.contains("unknown field `colour`"), "{e}");
}

#[test]
fn an_unknown_key_in_a_host_names_the_table() {
    let e = error("[[host]]\nname = \"a\"\nurl = \"x\"\n");
    assert_eq!((e.line, e.key.as_deref()), (Some(3), Some("host.url")));
}

#[test]
fn a_value_of_the_wrong_kind_is_named() {
    let e = error("\nascii = \"yes\"\n");
    assert_eq!((e.line, e.key.as_deref()), (Some(2), Some("ascii")));
    assert!(e.message.contains("invalid type"), "{e}");
}

#[test]
fn a_host_without_a_uri_is_named() {
    let e = error("[[host]]\nname = \"hv01\"\n");
    assert_eq!(e.key.as_deref(), Some("host"), "{e}");
    assert_eq!(e.line, Some(1), "{e}");
    assert!(e.message.contains("missing field `uri`"), "{e}");
}

#[test]
fn hosts_need_distinct_names_and_a_uri() {
    let e = error(
        "[[host]]\nname = \"a\"\nuri = \"test:///default\"\n\
         [[host]]\nname = \"a\"\nuri = \"qemu:///system\"\n",
    );
    assert_eq!((e.line, e.key.as_deref()), (Some(5), Some("host.name")));
    assert!(e.message.contains("two hosts are named \"a\""), "{e}");
    let e = error("[[host]]\nname = \"b\"\nuri = \" \"\n");
    assert_eq!((e.line, e.key.as_deref()), (Some(3), Some("host.uri")));
    let e = error("[[host]]\nname = \"\"\nuri = \"x\"\n");
    assert_eq!((e.line, e.key.as_deref()), (Some(2), Some("host.name")));
}

#[test]
fn bad_lengths_of_time_are_named_with_the_accepted_forms() {
    let e = error("shutdown_timeout = -5\n");
    assert_eq!(
        (e.line, e.key.as_deref()),
        (Some(1), Some("shutdown_timeout"))
    );
    assert!(e.message.contains("-5 is negative"), "{e}");
    let e = error("\nstale_snapshot_age = \"3 days\"\n");
    assert_eq!(
        (e.line, e.key.as_deref()),
        (Some(2), Some("stale_snapshot_age"))
    );
    assert!(e.message.contains("unknown unit \"days\""), "{e}");
    let e = error("stale_snapshot_age = \"soon\"\n");
    assert!(e.message.contains("not a length of time"), "{e}");
    let e = error("stale_snapshot_age = 1.5\n");
    assert!(e.message.contains("invalid type"), "{e}");
}

#[test]
fn key_remaps_keep_their_place_and_refuse_non_names() {
    let c = parsed("[keys.domains]\nshutdown = \"d\"\nsnapshot = [\"s\", \"n\"]\n").unwrap();
    let r = &c.keys.view("domains").unwrap().remaps;
    assert_eq!(r[0].action, "shutdown");
    let e = c.keys.error_at(r[1].keys[1].1.clone(), "test".into());
    assert_eq!(
        (e.line, e.key.as_deref()),
        (Some(3), Some("keys.domains.snapshot"))
    );
    let e = error("[keys.domains]\nshutdown = 4\n");
    assert_eq!(
        (e.line, e.key.as_deref()),
        (Some(2), Some("keys.domains.shutdown"))
    );
    assert!(e.message.contains("found integer"), "{e}");
    let e = error("[keys.domains]\nshutdown = [\"d\", 4]\n");
    assert!(e.message.contains("expected a key name"), "{e}");
    let e = error("[keys.domains]\nshutdown = []\n");
    assert!(e.message.contains("no key given"), "{e}");
}

#[test]
fn a_missing_default_file_is_defaults_but_a_missing_named_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let e = load(Some(&missing)).expect_err("named file must exist");
    assert!(e.message.starts_with("cannot read it"), "{e}");
    assert_eq!(e.line, None);
    let file = dir.path().join("c.toml");
    std::fs::write(&file, "color = false\n").unwrap();
    assert!(!load(Some(&file)).unwrap().color);
}

#[test]
fn command_line_hosts_replace_the_files_and_may_name_them() {
    let c = parsed(
        "[[host]]\nname = \"hv1\"\nuri = \"qemu+ssh://hv1/system\"\n\
         [[host]]\nname = \"hv2\"\nuri = \"qemu+ssh://hv2/system\"\n",
    )
    .unwrap();
    let from_file = resolve_hosts(&[], &c);
    assert_eq!(from_file.len(), 2);
    assert_eq!(from_file[1].name.as_deref(), Some("hv2"));
    let picked = resolve_hosts(&["hv2".into(), "test:///default".into()], &c);
    assert_eq!(
        picked,
        vec![
            HostTarget {
                name: Some("hv2".into()),
                uri: Some("qemu+ssh://hv2/system".into())
            },
            HostTarget {
                name: None,
                uri: Some("test:///default".into())
            },
        ]
    );
    let none = resolve_hosts(&[], &Config::default());
    assert_eq!(
        none,
        vec![HostTarget {
            name: None,
            uri: None
        }]
    );
}

#[test]
fn hosts_without_a_name_are_named_from_their_uri_and_never_twice_alike() {
    let t = |name: Option<&str>, uri: Option<&str>| HostTarget {
        name: name.map(str::to_string),
        uri: uri.map(str::to_string),
    };
    let names = host_names(&[
        t(None, Some("qemu+ssh://root@hv01.example.org/system")),
        t(
            None,
            Some("qemu+ssh://root@127.0.0.1:2222/system?keyfile=/k"),
        ),
        t(None, Some("qemu:///system")),
        t(None, Some("test:///tmp/x/rack-a.xml")),
        t(None, Some("test:///default")),
        t(Some("local"), Some("qemu+tcp://x/system")),
        t(None, None),
    ]);
    assert_eq!(
        names,
        [
            "hv01.example.org",
            "127.0.0.1:2222",
            "local",
            "rack-a",
            "default",
            "local-2",
            "default-2"
        ]
    );
}
