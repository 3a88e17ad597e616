//! The words: headlines, cause lines and numbered options of the explanation.

use super::blockers::{Finding, Fix};
use super::{invtsc_cause, InvtscCause, MemoryVerdict, Remedy, RuleInput};
use crate::model::domain::{CpuMode, DomainConfig, FeaturePolicy};
use crate::model::host::HostCapabilities;

pub(super) const OPTION_DISK_ONLY: &str =
    "Create a disk-only snapshot (uncheck 'Include memory state')";
pub(super) const OPTION_STOP: &str = "Stop the VM first, then take a snapshot";
pub(super) const LIMITATION: &str = "This is a limitation of libvirt/QEMU, not of virtsnap.";
pub(super) const USES_INVTSC: &str =
    "This VM uses the 'invtsc' CPU flag which prevents memory state capture.";

/// How the headline names the configured CPU: "host-passthrough", "'custom' (model qemu64)".
pub(super) fn mode_phrase(mode: CpuMode, running: &DomainConfig) -> String {
    match mode {
        CpuMode::HostPassthrough => "host-passthrough".to_string(),
        CpuMode::HostModel => "host-model".to_string(),
        CpuMode::Maximum => "maximum".to_string(),
        CpuMode::Custom => match running.cpu.as_ref().and_then(|c| c.model.as_deref()) {
            Some(model) => format!("'custom' (model {model})"),
            None => "'custom'".to_string(),
        },
        CpuMode::Default => "the hypervisor's default".to_string(),
    }
}

pub(super) fn mode_name(mode: CpuMode) -> &'static str {
    match mode {
        CpuMode::HostPassthrough => "host-passthrough",
        CpuMode::HostModel => "host-model",
        CpuMode::Custom => "custom",
        CpuMode::Maximum => "maximum",
        CpuMode::Default => "default",
    }
}

pub(super) fn invtsc_cause_line(cause: InvtscCause) -> String {
    match cause {
        InvtscCause::Explicit(policy) => format!(
            "invtsc is required by <feature policy='{}' name='invtsc'/>, and no TSC frequency \
             is pinned.",
            policy.as_str()
        ),
        InvtscCause::NonMigratableHostCpu => "invtsc is exposed because migratable='off' and \
                                              the host CPU has invtsc, and no TSC frequency is \
                                              pinned."
            .to_string(),
    }
}

pub(super) fn push_invtsc_remedies(
    cause: InvtscCause,
    mode: CpuMode,
    host: Option<&HostCapabilities>,
    remedies: &mut Vec<String>,
    actions: &mut Vec<Remedy>,
) {
    let copies_host = matches!(mode, CpuMode::HostPassthrough | CpuMode::Maximum);
    match (copies_host, cause) {
        (true, InvtscCause::NonMigratableHostCpu) => {
            remedies.push(format!(
                "Reconfigure the VM to use 'host-model' CPU instead of '{}'",
                mode_name(mode)
            ));
            actions.push(Remedy::SwitchToHostModel);
        }
        (true, InvtscCause::Explicit(_)) => {
            remedies.push(format!(
                "Reconfigure the VM to use 'host-model' CPU instead of '{}', without the \
                 'invtsc' feature",
                mode_name(mode)
            ));
            actions.push(Remedy::SwitchToHostModel);
        }
        (false, _) => remedies.push(
            "Remove the 'invtsc' feature from the VM's CPU definition (or set its policy to \
             'optional')"
                .to_string(),
        ),
    }
    let keeps = if copies_host {
        mode_name(mode)
    } else {
        "the 'invtsc' flag"
    };
    let hz = host.and_then(|h| h.tsc_frequency_hz);
    let target = match hz {
        Some(hz) => format!("the host's {hz} Hz"),
        None => "the host's TSC frequency".to_string(),
    };
    remedies.push(format!(
        "Pin the TSC frequency to {target} (keeps {keeps}; restoring on another host needs the \
         same frequency or TSC scaling)"
    ));
    if let Some(hz) = hz {
        actions.push(Remedy::PinTscFrequency { hz });
    }
}

pub(super) fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The headline, cause lines and remedies for the table's refusing findings (invtsc aside).
/// `leads`: no invtsc headline came first.
pub(super) fn push_device_text(
    findings: &[&Finding],
    leads: bool,
    intro: &mut Vec<String>,
    remedies: &mut Vec<String>,
) {
    if findings.is_empty() {
        return;
    }
    let phrases: Vec<String> = findings.iter().map(|f| f.phrase()).collect();
    let listed = join_words(&phrases);
    let prevent = if findings.len() == 1 {
        "prevents"
    } else {
        "prevent"
    };
    let detachable = |f: &&&Finding| matches!(f.row.fix, Fix::Detach);
    let all_devices = findings.iter().all(|f| matches!(f.row.fix, Fix::Detach));
    if leads {
        let headline = match (findings.len(), all_devices) {
            (1, true) => format!("Memory snapshots are not supported with {listed} attached."),
            (1, false) => format!("Memory snapshots are not supported with {listed}."),
            (_, true) => {
                "Memory snapshots are not supported with the devices this VM uses.".to_string()
            }
            (_, false) => "Memory snapshots are not supported with the devices and settings this \
                           VM uses."
                .to_string(),
        };
        intro.push(headline);
        intro.push(format!(
            "This VM uses {listed}, which {prevent} memory state capture."
        ));
        intro.push(LIMITATION.to_string());
    } else {
        intro.push(format!(
            "The VM also uses {listed}, which {prevent} memory state capture."
        ));
    }
    let detach: Vec<String> = findings
        .iter()
        .filter(detachable)
        .map(|f| f.phrase())
        .collect();
    if !detach.is_empty() {
        remedies.push(format!("Detach {} from the VM", join_words(&detach)));
    }
    for line in findings.iter().filter_map(|f| f.fix_line()) {
        if !remedies.contains(&line) {
            remedies.push(line);
        }
    }
}

/// The explanation when a conditional blocker came true: libvirt refused because the guest
/// mounted its 9p share, or a back-end lacks what migration needs.
pub(super) fn conditional_refusal_text(finding: &Finding) -> String {
    let mut lines = vec![
        "Memory snapshots are not supported for this VM right now.".to_string(),
        format!(
            "{}, which prevents memory state capture.",
            capitalize(&finding.happened())
        ),
        LIMITATION.to_string(),
        String::new(),
        "Options:".to_string(),
        format!("1. {OPTION_DISK_ONLY}"),
        format!("2. {OPTION_STOP}"),
    ];
    if let Some(fix) = finding.fix_line() {
        lines.push(format!("3. {fix}"));
    }
    lines.join("\n")
}

pub(super) fn join_words(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

pub(super) fn unexpected_invtsc_text(input: &RuleInput) -> String {
    let mode = input.persistent.cpu_mode();
    let running = input.live.unwrap_or(input.persistent);
    let mut remedies = vec![OPTION_DISK_ONLY.to_string(), OPTION_STOP.to_string()];
    let mut actions = Vec::new();
    let cause = match invtsc_cause(running, input.host) {
        Some(cause) => cause,
        None if matches!(mode, CpuMode::HostPassthrough | CpuMode::Maximum) => {
            InvtscCause::NonMigratableHostCpu
        }
        None => InvtscCause::Explicit(FeaturePolicy::Require),
    };
    push_invtsc_remedies(cause, mode, input.host, &mut remedies, &mut actions);
    let verdict = MemoryVerdict {
        allowed: false,
        applicable: true,
        blockers: Vec::new(),
        remedies,
        remedy_actions: actions,
        internal: false,
        external: false,
        conditional_blockers: Vec::new(),
        notes: Vec::new(),
        intro: vec![
            format!(
                "Memory snapshots are not supported with {} CPU.",
                mode_phrase(mode, running)
            ),
            USES_INVTSC.to_string(),
            LIMITATION.to_string(),
            "libvirt reports that invtsc is in effect and no TSC frequency is pinned.".to_string(),
        ],
    };
    verdict.explanation().unwrap_or_default()
}

pub(super) fn unexpected_blocker_text() -> String {
    [
        "Memory snapshots are not supported for this VM right now.",
        "QEMU reports a device or setting that cannot be migrated, which prevents memory state \
         capture.",
        LIMITATION,
        "",
        "Options:",
        &format!("1. {OPTION_DISK_ONLY}"),
        &format!("2. {OPTION_STOP}"),
    ]
    .join("\n")
}
