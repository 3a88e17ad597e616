//! The domain selection every bulk command shares (`--domain`, `--match`, `--all`), and how a
//! bulk command reports: a line (or a JSON object) per VM, then one exit code for all.
//!
//! Exit codes of a bulk command: 0 when every VM succeeded (a VM with nothing to do counts as
//! success), 1 when any VM failed at runtime (libvirt or the system), 3 when some were refused
//! by virtsnap before anything changed and none failed. A failure in one VM never stops the
//! others.

use serde::Serialize;
use virt::connect::Connect;

use super::{print_out, CliError};
use crate::model::bulk::{exit_code, Outcome};
use crate::model::selection::{select, Selection};

/// `--domain`, `--match`, `--all`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SelectArgs {
    /// Also work on DOMAIN (repeatable)
    #[arg(long = "domain", value_name = "DOMAIN")]
    pub domains: Vec<String>,
    /// Every domain whose name matches GLOB: `*`, `?`, `[a-z]`, `[!x]`, matched against the
    /// whole name (repeatable; quote it so the shell leaves it alone)
    #[arg(long = "match", value_name = "GLOB")]
    pub globs: Vec<String>,
    /// Every domain the connection lists
    #[arg(long)]
    pub all: bool,
}

impl SelectArgs {
    /// Any selection flag was given: the command works on many domains.
    pub fn is_bulk(&self) -> bool {
        !self.domains.is_empty() || !self.globs.is_empty() || self.all
    }

    /// `positional` domains, then `--domain`s, `--match`es and `--all`.
    pub fn selection(&self, positional: &[String]) -> Selection {
        Selection {
            names: positional.iter().chain(&self.domains).cloned().collect(),
            globs: self.globs.clone(),
            all: self.all,
        }
    }
}

/// The domains `sel` chooses among those the connection lists.
pub fn resolve(conn: &Connect, sel: &Selection) -> Result<Vec<String>, CliError> {
    let listed: Vec<String> = if sel.all || !sel.globs.is_empty() {
        conn.list_all_domains(0)
            .map_err(|e| CliError::Runtime(format!("listing domains: {}", e.message())))?
            .iter()
            .filter_map(|d| d.name().ok())
            .collect()
    } else {
        Vec::new()
    };
    select(sel, &listed).map_err(|e| CliError::Refused(e.to_string()))
}

/// One VM's part of a bulk command, as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct VmReport<T: Serialize> {
    pub domain: String,
    pub outcome: Outcome,
    /// What happened (or would happen), or why not.
    pub message: String,
    /// The command's own detail (the plan, what was created).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<T>,
}

impl<T: Serialize> VmReport<T> {
    pub fn new(domain: &str, outcome: Outcome, message: impl Into<String>) -> Self {
        VmReport {
            domain: domain.to_string(),
            outcome,
            message: message.into(),
            detail: None,
        }
    }

    pub fn with(mut self, detail: T) -> Self {
        self.detail = Some(detail);
        self
    }

    /// `DOMAIN: message`, continuation lines indented.
    pub fn text(&self) -> String {
        let tag = match self.outcome {
            Outcome::Ok | Outcome::Absent => "",
            Outcome::Refused => "REFUSED: ",
            Outcome::Failed => "FAILED: ",
        };
        let mut out = format!("{}: {tag}", self.domain);
        for (i, l) in self.message.lines().enumerate() {
            if i > 0 {
                out.push_str("\n  ");
            }
            out.push_str(l);
        }
        out.push('\n');
        out
    }
}

/// Prints the reports (text as each VM finishes is done by the caller; this prints JSON) and
/// turns the outcomes into the exit code's error.
pub fn finish<T: Serialize>(
    reports: &[VmReport<T>],
    json: bool,
    verb: &str,
) -> Result<(), CliError> {
    if json {
        let mut text = serde_json::to_string_pretty(reports)?;
        text.push('\n');
        print_out(&text)?;
    }
    let outcomes: Vec<Outcome> = reports.iter().map(|r| r.outcome).collect();
    let count = |o: Outcome| outcomes.iter().filter(|x| **x == o).count();
    let summary = format!(
        "{} of {} domains {verb}; {} refused, {} failed",
        count(Outcome::Ok),
        reports.len(),
        count(Outcome::Refused),
        count(Outcome::Failed)
    );
    match exit_code(&outcomes) {
        0 => Ok(()),
        1 => Err(CliError::Runtime(summary)),
        _ => Err(CliError::Refused(summary)),
    }
}
