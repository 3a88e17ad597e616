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
    // The caller's ids, without unsafe libc calls: those of a file we just created.
    let etc = root.join("etc");
    if std::fs::create_dir_all(&etc).is_err() {
        return;
    }
    let conf = etc.join("qemu.conf");
    let probe = root.join(".owner");
    let ids = std::fs::write(&probe, b"").and_then(|()| std::fs::metadata(&probe));
    let Ok(meta) = ids else { return };
    use std::os::unix::fs::MetadataExt;
    // remember_owner = 0: no xattr bookkeeping, whose warnings libvirt's helpers print.
    let text = format!(
        "user = \"+{}\"\ngroup = \"+{}\"\nremember_owner = 0\n",
        meta.uid(),
        meta.gid()
    );
    if std::fs::read_to_string(&conf).ok().as_deref() != Some(text.as_str()) {
        if let Err(e) = std::fs::write(&conf, text) {
            tracing::warn!("cannot write {}: {e}", conf.display());
        }
    }
}
