//! Plans in words an admin reads in five seconds: the lines the revert and delete dialogs and
//! the CLI's text output show (the `--json` output is the plan itself).

use serde::Serialize;

use super::delete::{DeleteMode, DeletePlan};
use super::effects::short;
use super::revert::{RevertPlan, SafetyPlan};

/// How a line should stand out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tone {
    Plain,
    /// Something to read twice (a warning, what is discarded).
    Warn,
    /// The refusal.
    Refused,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanLine {
    pub tone: Tone,
    pub text: String,
}

fn line(tone: Tone, text: impl Into<String>) -> PlanLine {
    PlanLine {
        tone,
        text: text.into(),
    }
}

fn list(paths: &[String]) -> String {
    paths.join(", ")
}

/// The refusal's lines: the reason, then each way out.
fn refusal_lines(out: &mut Vec<PlanLine>, r: &super::Refusal, verb: &str) {
    out.push(line(Tone::Refused, format!("Not {verb}: {}", r.reason)));
    for w in &r.ways_out {
        let flag = w
            .flag
            .as_deref()
            .map(|f| format!(" ({f})"))
            .unwrap_or_default();
        out.push(line(Tone::Plain, format!("  Way out: {}{flag}", w.text)));
    }
}

/// The revert plan, most important first.
pub fn revert_lines(plan: &RevertPlan) -> Vec<PlanLine> {
    let mut out = Vec::new();
    if let Some(r) = &plan.refusal {
        refusal_lines(&mut out, r, "reverted");
        // Refused before it was worked out (no such snapshot, an after-state libvirt refuses):
        // there is nothing more to say.
        if !plan.worked_out() {
            return out;
        }
    }
    out.push(line(
        Tone::Plain,
        if plan.after.why.is_empty() {
            format!("Afterwards the VM is {}.", plan.after.state)
        } else {
            format!(
                "Afterwards the VM is {}: {}.",
                plan.after.state, plan.after.why
            )
        },
    ));
    if plan.stop_first {
        out.push(line(Tone::Plain, "First the VM is shut down (gracefully)."));
    }
    if plan.remove_managed_save {
        out.push(line(
            Tone::Warn,
            "First the managed-save image is removed: libvirt would otherwise resume it over the \
             reverted disks at the next start.",
        ));
    }
    match &plan.safety {
        SafetyPlan::Planned { plan: s } => out.push(line(
            Tone::Plain,
            format!(
                "Safety snapshot '{}' keeps the current state ({}, {}).",
                s.request.name,
                s.location.as_str(),
                if s.memory {
                    "with memory"
                } else {
                    "disks only"
                }
            ),
        )),
        SafetyPlan::NotRequested => out.push(line(
            Tone::Warn,
            "No safety snapshot: the current state is lost.",
        )),
        SafetyPlan::NotNeeded { reason } => out.push(line(
            Tone::Plain,
            format!("No safety snapshot needed: {reason}."),
        )),
        SafetyPlan::Impossible { .. } => {}
    }
    for r in &plan.effects.rewritten {
        out.push(line(
            Tone::Plain,
            format!("Rewrites {} in place ({}).", r.image, r.how),
        ));
    }
    if !plan.effects.created.is_empty() {
        let files: Vec<String> = plan
            .effects
            .created
            .iter()
            .map(|f| format!("{} ({})", plan.created_words(&f.path), f.what))
            .collect();
        out.push(line(Tone::Plain, format!("Creates {}.", list(&files))));
    }
    // With a safety snapshot, the files libvirt deletes are that snapshot's own new overlays
    // (it is the current snapshot when the revert runs); its data stays in the images below.
    let safety = plan.safety_plan();
    let (safety_overlays, others): (Vec<String>, Vec<String>) =
        plan.effects.removed.iter().cloned().partition(|f| {
            safety.is_some_and(|s| s.overlay_files.iter().any(|o| o.to_string_lossy() == *f))
        });
    if let (Some(s), false) = (safety, safety_overlays.is_empty()) {
        out.push(line(
            Tone::Plain,
            format!(
                "Deletes {}: the overlay that safety snapshot '{}' starts, holding only what \
                 the VM writes between that snapshot and the revert. The safety snapshot's data \
                 stays in the image below it.",
                list(&safety_overlays),
                s.request.name
            ),
        ));
    }
    if !others.is_empty() {
        out.push(line(
            Tone::Plain,
            format!(
                "Deletes {} (what was written since the current snapshot).",
                list(&others)
            ),
        ));
    }
    if let (Some(s), false) = (safety, plan.kept.is_empty()) {
        out.push(line(
            Tone::Plain,
            format!(
                "Leaves the VM (kept in safety snapshot '{}'): {}.",
                s.request.name,
                plan.kept.join("; ")
            ),
        ));
    }
    if !plan.discarded.is_empty() {
        out.push(line(
            Tone::Warn,
            format!("Discards {}.", plan.discarded.join("; ")),
        ));
    }
    if !plan.definition_changes.is_empty() {
        out.push(line(
            Tone::Warn,
            format!(
                "The definition goes back to the snapshot's: {}.",
                plan.definition_changes.join("; ")
            ),
        ));
    }
    if !plan.orphaned.is_empty() {
        let files: Vec<&str> = plan.orphaned.iter().map(|f| short(f)).collect();
        out.push(line(
            Tone::Plain,
            format!("Left on disk, unused afterwards: {}.", files.join(", ")),
        ));
    }
    for w in &plan.warnings {
        out.push(line(Tone::Warn, format!("Note: {w}.")));
    }
    out
}

/// The delete plan, most important first.
pub fn delete_lines(plan: &DeletePlan) -> Vec<PlanLine> {
    let mut out = Vec::new();
    if let Some(r) = &plan.refusal {
        refusal_lines(&mut out, r, "possible");
        if !plan.worked_out() {
            return out;
        }
    }
    let shown = if plan.deleted.len() > 4 {
        format!(
            "{}, ... and {} more",
            plan.deleted[..3].join(", "),
            plan.deleted.len() - 3
        )
    } else {
        plan.deleted.join(", ")
    };
    let count = match plan.deleted.len() {
        1 => "1 snapshot".to_string(),
        n => format!("{n} snapshots"),
    };
    if plan.refusal.is_some() {
        if !plan.deleted.is_empty() {
            out.push(line(
                Tone::Plain,
                format!("(It would delete {count}: {shown}.)"),
            ));
        }
        return out;
    }
    if plan.mode == DeleteMode::MetadataOnly {
        out.push(line(
            Tone::Plain,
            format!("libvirt forgets {count}: {shown}. No file is touched."),
        ));
    } else {
        out.push(line(Tone::Plain, format!("Deletes {count}: {shown}.")));
    }
    for c in &plan.effects.commits {
        out.push(line(
            Tone::Plain,
            format!(
                "Merges {} into {} (block commit, rewrites it in place) and deletes {}.",
                short(&c.top),
                short(&c.base),
                short(&c.top)
            ),
        ));
    }
    for (image, name) in &plan.effects.internal_removed {
        out.push(line(
            Tone::Plain,
            format!(
                "Removes '{name}' from {} (its space is freed).",
                short(image)
            ),
        ));
    }
    if !plan.effects.removed.is_empty() {
        out.push(line(
            Tone::Plain,
            format!("Deletes {}.", list(&plan.effects.removed)),
        ));
    }
    if plan.starts_vm {
        out.push(line(
            Tone::Plain,
            "libvirt starts the VM paused for the merge and stops it again.",
        ));
    }
    for f in &plan.left_on_disk {
        let use_note = f
            .vm_use
            .map(|u| format!("; {}", u.words()))
            .unwrap_or_default();
        out.push(line(
            if f.in_use { Tone::Warn } else { Tone::Plain },
            format!("Left on disk: {} ({}{use_note}).", f.path, f.what),
        ));
    }
    for f in &plan.follow_up {
        out.push(line(Tone::Warn, format!("Afterwards {f}.")));
    }
    for w in &plan.warnings {
        out.push(line(Tone::Warn, format!("Note: {w}.")));
    }
    out
}
