//! Several hosts at once, each over its own transport: two libvirt test-driver node files,
//! the system libvirtd (qemu:///system), and the same libvirtd reached through a real remote
//! transport, qemu+ssh through an sshd this test starts on a loopback port. The hosts come
//! from a config file the test writes. Killing the sshd while virtsnap runs (in tmux, as a
//! user sees it) must leave the other hosts' rows live and the keys responsive, dim the dead
//! host's rows with the reason, and the host must come back on its own when sshd returns.
//! The one-shot `list --json` and `check` read all four hosts, and every row names its host.

mod sshd;
mod testnode;
mod tmux;

use std::process::Command;
use std::time::{Duration, Instant};

use virt::connect::Connect;
use virtsnap::libvirt::vmdef::{TinyCpu, TinyVm};

const BIN: &str = env!("CARGO_BIN_EXE_virtsnap");
const SYSTEM: &str = "qemu:///system";

/// Starts virtlogd and libvirtd (as the CI does) unless they answer already.
fn ensure_libvirtd() -> Option<Connect> {
    if let Ok(c) = Connect::open(Some(SYSTEM)) {
        return Some(c);
    }
    let _ = Command::new("virtlogd").arg("-d").status();
    let _ = Command::new("libvirtd").arg("-d").status();
    for _ in 0..100 {
        if let Ok(c) = Connect::open(Some(SYSTEM)) {
            return Some(c);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// Domains this test defined on the system libvirtd; undefined on drop, whatever happens.
struct Defined(Vec<String>);

impl Drop for Defined {
    fn drop(&mut self) {
        if let Ok(conn) = Connect::open(Some(SYSTEM)) {
            for name in &self.0 {
                if let Ok(d) = conn.lookup_domain_by_name(name) {
                    let _ = d.destroy();
                    let _ = d.undefine();
                }
            }
        }
    }
}

fn define(conn: &Connect, defined: &mut Defined, name: &str) {
    let xml = TinyVm::new(name, TinyCpu::HostModel).to_xml();
    defined.0.push(name.to_string());
    conn.define_domain_xml(&xml)
        .unwrap_or_else(|e| panic!("define {name}: {}", e.message()));
}

/// The screen line of `name` on `host` (HOST is the first column), if shown.
fn row<'a>(screen: &'a str, host: &str, name: &str) -> Option<&'a str> {
    screen.lines().find(|l| {
        let mut words = l.split_whitespace();
        words.next() == Some(host) && words.next() == Some(name)
    })
}

fn header(screen: &str) -> &str {
    screen.lines().next().unwrap_or("")
}

#[test]
fn several_hosts_stay_live_while_one_dies_and_it_comes_back_by_itself() {
    if !tmux::available() {
        eprintln!("SKIPPED: tmux is not installed (tests/setup/install-deps.sh installs it)");
        return;
    }
    if let Some(why) = sshd::unavailable() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    // libvirt's default error printer would write this process's expected errors to stderr.
    virt::error::clear_error_callback();
    let Some(conn) = ensure_libvirtd() else {
        eprintln!("SKIPPED: libvirtd could not be started");
        return;
    };
    let pid = std::process::id();
    let (a, b) = (format!("vtf-fleet{pid}-a"), format!("vtf-fleet{pid}-b"));
    let mut defined = Defined(Vec::new());
    define(&conn, &mut defined, &a);

    let dir = tempfile::tempdir().unwrap();
    let rack_a = dir.path().join("rack-a");
    let rack_b = dir.path().join("rack-b");
    std::fs::create_dir_all(&rack_a).unwrap();
    std::fs::create_dir_all(&rack_b).unwrap();
    let (_, uri_a) = testnode::write_node(&rack_a, &testnode::mixed_domains());
    let mut others = testnode::many_domains(5);
    others
        .iter_mut()
        .for_each(|d| d.name = d.name.replace("vm-", "rb-"));
    let (_, uri_b) = testnode::write_node(&rack_b, &others);

    let mut sshd = sshd::Sshd::start();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "shutdown_timeout = \"30s\"\n\n\
             [[host]]\nname = \"rack-a\"\nuri = \"{uri_a}\"\n\n\
             [[host]]\nname = \"rack-b\"\nuri = \"{uri_b}\"\n\n\
             [[host]]\nname = \"local\"\nuri = \"{SYSTEM}\"\n\n\
             [[host]]\nname = \"viassh\"\nuri = \"{}\"\n",
            sshd.uri()
        ),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        sshd.bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let env = format!(
        "PATH='{path}' XDG_STATE_HOME='{}'",
        dir.path().join("state").display()
    );

    // The one-shot commands first: every host, every row naming its host.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{env} {BIN} --config '{}' list --json",
            config.display()
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hosts_of = |name: &str| -> Vec<String> {
        rows.as_array()
            .unwrap()
            .iter()
            .filter(|r| r["name"] == name)
            .map(|r| r["host"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(hosts_of(&a), ["local", "viassh"]);
    assert_eq!(hosts_of("web-passthrough"), ["rack-a"]);
    assert_eq!(hosts_of("rb-00003"), ["rack-b"]);
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{env} {BIN} --config '{}' check {a} --json",
            config.display()
        ))
        .output()
        .unwrap();
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    let checked: Vec<&str> = reports
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["host"].as_str().unwrap())
        .collect();
    assert_eq!(checked, ["local", "viassh"]);
    eprintln!("list --json and check read all four hosts");

    // The TUI.
    let t = tmux::Tmux::start(
        "fleet",
        120,
        40,
        &format!("{env} {BIN} --config '{}'", config.display()),
    );
    let started = Instant::now();
    t.wait_for(Duration::from_secs(30), |s| {
        header(s).contains("4 hosts: 4 connected")
            && row(s, "local", &a).is_some()
            && row(s, "viassh", &a).is_some()
            && row(s, "rack-b", "rb-00004").is_some()
    })
    .unwrap_or_else(|| panic!("not every host listed:\n{}", t.screen()));
    eprintln!("four hosts listed after {:?}", started.elapsed());

    // sshd dies, and its sessions with it: the remote link is gone.
    sshd.kill();
    let killed = Instant::now();
    t.wait_for(Duration::from_secs(30), |s| {
        header(s).contains("1 reconnecting (viassh)")
    })
    .unwrap_or_else(|| panic!("the dead host is not shown:\n{}", t.screen()));
    eprintln!(
        "sshd killed -> header says reconnecting after {:?}",
        killed.elapsed()
    );

    // Its rows stay, dimmed (DarkGray: tmux writes colour 8 as 38;5;8 or 90); the live hosts'
    // rows are not.
    let styled = t.screen_styled();
    let line_of = |host: &str| {
        styled
            .lines()
            .find(|l| l.contains(host) && l.contains(a.as_str()))
            .unwrap_or_else(|| panic!("no {host} row:\n{styled}"))
            .to_string()
    };
    // The style in effect where the row's HOST cell starts: tmux writes an attribute only
    // when it changes, so a row styled like the one above it carries no code of its own; the
    // last code before the cell is the one that holds.
    let dim = |l: &str, host: &str| {
        let at = styled.find(l).unwrap_or(0) + l.find(host).unwrap_or(0);
        let last = styled[..at].rfind("\x1b[").map_or("", |i| &styled[i..at]);
        let code = &last[..last.find('m').map_or(0, |m| m + 1)];
        code == "\x1b[90m" || code.contains("38;5;8")
    };
    assert!(dim(&line_of("viassh"), "viassh"), "{:?}", line_of("viassh"));
    assert!(!dim(&line_of("local"), "local"), "{:?}", line_of("local"));

    // The other hosts stay live: a domain defined on the system libvirtd now appears.
    let defined_at = Instant::now();
    define(&conn, &mut defined, &b);
    let took = t
        .wait_for(Duration::from_secs(10), |s| row(s, "local", &b).is_some())
        .unwrap_or_else(|| panic!("local is not live while viassh is down:\n{}", t.screen()));
    eprintln!(
        "while viassh is down: a domain defined on local shows after {took:?} (defined {:?} after the kill)",
        defined_at.duration_since(killed)
    );
    // And the keys answer: the filter narrows to one host at once.
    t.keys(&["/", "rack-b", "Enter"]);
    let took = t
        .wait_for(Duration::from_secs(2), |s| {
            row(s, "rack-b", "rb-00000").is_some() && row(s, "local", &a).is_none()
        })
        .unwrap_or_else(|| panic!("the filter did not apply:\n{}", t.screen()));
    eprintln!("while viassh is down: / filter applied after {took:?}");
    t.keys(&["Escape"]);

    // Down long enough for reconnect attempts to fail (1 s, then 2 s later): still shown as
    // reconnecting, the others still live.
    std::thread::sleep(Duration::from_secs(4).saturating_sub(killed.elapsed()));
    let screen = t.screen();
    assert!(
        header(&screen).contains("1 reconnecting (viassh)"),
        "{screen}"
    );
    assert!(header(&screen).contains("3 connected"), "{screen}");

    // sshd comes back: so does the host, by itself, with what changed meanwhile.
    sshd.launch();
    let back = Instant::now();
    t.wait_for(Duration::from_secs(60), |s| {
        header(s).contains("4 hosts: 4 connected") && row(s, "viassh", &b).is_some()
    })
    .unwrap_or_else(|| panic!("viassh did not come back:\n{}", t.screen()));
    eprintln!(
        "sshd restarted -> viassh connected and re-listed after {:?}",
        back.elapsed()
    );
    t.keys(&["q"]);
}
