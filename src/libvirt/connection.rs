//! Process-wide libvirt set-up and opening connections.

use std::sync::OnceLock;

use virt::connect::Connect;

use super::error::VirtError;

/// What to open.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// None: `LIBVIRT_DEFAULT_URI`, else libvirt's own default.
    pub uri: Option<String>,
    pub readonly: bool,
}

/// libvirt's own logging writes warnings and errors to stderr, which garbles a full-screen UI
/// and breaks the CLI's one-line errors. Route it to a file unless the user chose an output.
/// Call first thing in `main`, before any thread exists: libvirt reads this at its first call.
pub fn route_libvirt_logs() {
    if std::env::var_os("LIBVIRT_LOG_OUTPUTS").is_none() {
        let dir = state_dir();
        if std::fs::create_dir_all(&dir).is_ok() {
            let target = format!("3:file:{}", dir.join("libvirt.log").display());
            std::env::set_var("LIBVIRT_LOG_OUTPUTS", target);
        }
    }
}

static INIT: OnceLock<Result<(), String>> = OnceLock::new();

/// Silences libvirt's default error printer (it writes to stderr, garbling a full-screen UI)
/// and registers libvirt's default event loop, with a thread running it. Must run before the
/// first open: the embedded QEMU driver and domain events need the loop. Idempotent.
pub fn init() -> Result<(), VirtError> {
    INIT.get_or_init(|| {
        virt::error::clear_error_callback();
        virt::event::event_register_default_impl().map_err(|e| e.message().to_string())?;
        std::thread::Builder::new()
            .name("libvirt-events".into())
            .spawn(|| loop {
                if let Err(e) = virt::event::event_run_default_impl() {
                    tracing::error!("libvirt event loop: {}", e.message());
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
            })
            .map_err(|e| e.to_string())?;
        Ok(())
    })
    .clone()
    .map_err(|reason| VirtError::Setup { reason })
}

/// Opens a connection; errors name the URI and libvirt's reason.
pub fn open(opts: &ConnectOptions) -> Result<Connect, VirtError> {
    init()?;
    let uri = opts.uri.as_deref();
    let result = if opts.readonly {
        Connect::open_read_only(uri)
    } else {
        Connect::open(uri)
    };
    let conn = result.map_err(|e| VirtError::Connect {
        uri: uri.map_or_else(default_uri_label, str::to_string),
        reason: with_scheme_hint(uri, e.message()),
    })?;
    if uri.is_some_and(|u| u.starts_with("qemu:///embed")) {
        wait_for_embedded_reconnect(&conn);
    }
    Ok(conn)
}

/// Waits until libvirt's embedded QEMU driver has reconnected to the VMs that were running
/// when the root was opened.
///
/// The embedded driver (`qemu:///embed?root=DIR`) runs inside this process. Opening a root
/// whose VMs run starts a thread per VM (`qemuProcessReconnect`, named "init-<name>") that
/// holds the domain's modify job while it attaches to QEMU. A process that exits while one of
/// them runs can crash in it (measured, libvirt 11.3: SIGSEGV in libnuma in thread
/// "init-tui-hostmo" of a short-lived process). A query job waits for the modify job, so one
/// query per running VM (memory statistics; the answer is not used) lets them finish. Errors
/// are ignored: a VM that died meanwhile needs no waiting.
fn wait_for_embedded_reconnect(conn: &Connect) {
    let Ok(domains) = conn.list_all_domains(virt::sys::VIR_CONNECT_LIST_DOMAINS_ACTIVE) else {
        return;
    };
    for dom in domains {
        let _ = dom.memory_stats(0);
    }
}

/// The hypervisor drivers libvirt 11 knows by URI scheme (`scheme[+transport]://...`).
const KNOWN_SCHEMES: &[&str] = &[
    "qemu",
    "test",
    "lxc",
    "xen",
    "libxl",
    "vbox",
    "esx",
    "gsx",
    "vpx",
    "hyperv",
    "bhyve",
    "ch",
    "openvz",
    "vz",
    "parallels",
    "vmwareplayer",
    "vmwarews",
    "vmwarefusion",
    "remote",
];

/// libvirt's reason, plus the real cause when the URI's scheme names no libvirt driver: libvirt
/// then hands a URI with a host to its remote driver over TLS, and the user reads "Cannot read
/// CA certificate '/etc/pki/CA/cacert.pem'" (measured, libvirt 11.3, `bogus://x`), which
/// says nothing about the typo.
fn with_scheme_hint(uri: Option<&str>, reason: &str) -> String {
    let scheme = uri
        .and_then(|u| u.split_once("://"))
        .map(|(scheme, _)| scheme.split('+').next().unwrap_or(scheme));
    match scheme {
        Some(s) if !KNOWN_SCHEMES.contains(&s.to_ascii_lowercase().as_str()) => format!(
            "libvirt has no driver called '{s}' (for KVM: qemu:///system, or \
             qemu+ssh://USER@HOST/system for another host); libvirt said: {reason}"
        ),
        _ => reason.to_string(),
    }
}

fn default_uri_label() -> String {
    std::env::var("LIBVIRT_DEFAULT_URI").unwrap_or_else(|_| "libvirt's default URI".into())
}

/// `$XDG_STATE_HOME/virtsnap`, else `~/.local/state/virtsnap`: logs and the demo root.
pub fn state_dir() -> std::path::PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".local/state"))
        })
        .unwrap_or_else(|| std::path::PathBuf::from("/tmp"));
    base.join("virtsnap")
}

#[cfg(test)]
mod tests {
    use super::with_scheme_hint;

    #[test]
    fn an_unknown_scheme_is_named_before_libvirts_tls_complaint() {
        let tls = "Cannot read CA certificate '/etc/pki/CA/cacert.pem': No such file or directory";
        let told = with_scheme_hint(Some("bogus://x"), tls);
        assert!(
            told.starts_with("libvirt has no driver called 'bogus'"),
            "{told}"
        );
        assert!(told.ends_with(tls), "{told}");
        for known in [
            "qemu:///system",
            "qemu+ssh://root@h/system",
            "test:///default",
            "QEMU:///system",
        ] {
            assert_eq!(with_scheme_hint(Some(known), "x"), "x", "{known}");
        }
        assert_eq!(with_scheme_hint(None, "x"), "x");
        assert_eq!(with_scheme_hint(Some("not a uri"), "x"), "x");
    }
}
