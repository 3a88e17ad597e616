//! Opening the demo: the embedded QEMU root with tiny real VMs when QEMU is here, otherwise
//! libvirt's test driver with the shipped host file. The VMs it started are destroyed on exit.

use virt::connect::Connect;

use super::connection::{self, ConnectOptions};
use super::demo::{DemoHost, DemoReport};
use super::error::VirtError;
use crate::model::inventory::DemoKind;

pub struct DemoSession {
    kind: DemoKind,
    report: Option<DemoReport>,
    fallback_reason: Option<String>,
}

impl DemoSession {
    /// The demo host's URI for a one-shot command (`virtsnap --demo list`): the embedded root
    /// the TUI's demo made, with its QEMU run as the caller as the TUI does. Err (a sentence)
    /// when the demo was never started here: the VMs are made by the TUI's first start.
    /// libvirt lets one process hold an embedded root, so this fails to connect (with
    /// libvirt's reason) while a `virtsnap --demo` runs.
    pub fn uri_for_command() -> Result<String, String> {
        let root = DemoHost::root_dir();
        if !root.join("etc").is_dir() {
            return Err(format!(
                "the demo host does not exist yet ({} is missing): start it once with \
                 `virtsnap --demo` (the TUI), then quit it",
                root.display()
            ));
        }
        run_qemu_as_caller(&root);
        Ok(DemoHost::uri())
    }

    /// `notice` receives progress lines while the VMs are defined and started (seconds).
    pub fn open(notice: &dyn Fn(String)) -> Result<(Connect, DemoSession), VirtError> {
        let why_not_embedded = if DemoHost::qemu_available() {
            run_qemu_as_caller(&DemoHost::root_dir());
            let opts = ConnectOptions {
                uri: Some(DemoHost::uri()),
                readonly: false,
            };
            match connection::open(&opts) {
                Ok(conn) => {
                    notice(
                        "starting the demo VMs (the first run probes QEMU: a few seconds)".into(),
                    );
                    let report = DemoHost::prepare(&conn)?;
                    tracing::info!("demo prepared: {report:?}");
                    let session = DemoSession {
                        kind: DemoKind::Embedded,
                        report: Some(report),
                        fallback_reason: None,
                    };
                    return Ok((conn, session));
                }
                Err(e) => format!("the embedded QEMU driver is unavailable ({e})"),
            }
        } else {
            "qemu-system-x86_64 is not installed".to_string()
        };
        tracing::warn!("demo falls back to the test driver: {why_not_embedded}");
        let opts = ConnectOptions {
            uri: Some(DemoHost::test_driver_uri()),
            readonly: false,
        };
        let conn = connection::open(&opts)?;
        let session = DemoSession {
            kind: DemoKind::TestDriver,
            report: None,
            fallback_reason: Some(why_not_embedded),
        };
        Ok((conn, session))
    }

    pub fn kind(&self) -> DemoKind {
        self.kind
    }

    /// What the user should read once: VMs left off and why, or why this is the test driver.
    pub fn report_lines(&self) -> Vec<String> {
        let mut lines = self
            .report
            .as_ref()
            .map(DemoReport::lines)
            .unwrap_or_default();
        if let Some(why) = &self.fallback_reason {
            lines.push(format!("demo uses libvirt's test driver: {why}"));
        }
        lines
    }

    /// Destroys the VMs the demo started: the embedded driver leaves QEMU running otherwise.
    pub fn shutdown(self, conn: &Connect) {
        if let Some(report) = &self.report {
            if let Err(e) = DemoHost::shutdown(conn, report) {
                tracing::error!("stopping the demo VMs: {e}");
            }
        }
    }
}

/// A privileged embedded driver runs QEMU as the distribution's `libvirt-qemu` user, which
/// cannot reach disks under root's home (mode 0700). The demo's QEMU runs as whoever runs
/// virtsnap instead, through the root's own qemu.conf (never the system's).
fn run_qemu_as_caller(root: &std::path::Path) {
    if let Err(e) = write_embed_qemu_conf(root, true) {
        tracing::warn!("cannot write {}: {e}", root.join("etc/qemu.conf").display());
    }
}

/// Writes the qemu.conf of an embedded root (`qemu:///embed?root=...`), which is the only one
/// that driver reads:
/// - `stdio_handler = "file"`: QEMU's output goes to `root/log/qemu/` directly. The default
///   hands it to virtlogd, which is not running on a machine without systemd (a fresh
///   container, a rescue console), and every start then fails with "Failed to connect socket
///   to '/run/libvirt/virtlogd-sock'".
/// - `remember_owner = 0`: no xattr bookkeeping, whose warnings libvirt's helpers print.
/// - `namespaces = []`: QEMU shares the host's `/dev` instead of a private copy. The private
///   copy needs `/` to be a mount point and a devpts it can reach, which containers and
///   chroots (a recovery environment, a CI runner) do not always give; a demo or test VM
///   gains nothing from it.
/// - with `as_caller`, QEMU runs as the caller's user and group instead of `libvirt-qemu`.
///
/// The file is rewritten only when its text differs.
pub fn write_embed_qemu_conf(root: &std::path::Path, as_caller: bool) -> std::io::Result<()> {
    let etc = root.join("etc");
    std::fs::create_dir_all(&etc)?;
    let mut text = String::from("stdio_handler = \"file\"\nremember_owner = 0\nnamespaces = []\n");
    if as_caller {
        // The caller's ids, without unsafe libc calls: those of a file we just created.
        let probe = root.join(".owner");
        std::fs::write(&probe, b"")?;
        let meta = std::fs::metadata(&probe)?;
        use std::os::unix::fs::MetadataExt;
        text.push_str(&format!(
            "user = \"+{}\"\ngroup = \"+{}\"\n",
            meta.uid(),
            meta.gid()
        ));
    }
    let conf = etc.join("qemu.conf");
    if std::fs::read_to_string(&conf).ok().as_deref() != Some(text.as_str()) {
        std::fs::write(&conf, text)?;
    }
    Ok(())
}
