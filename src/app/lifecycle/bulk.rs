//! Space marks rows on the domain list; S, D and F then act on every marked domain after one
//! confirmation that names them, and skip (saying why) those the key does not apply to.

use super::{refusal_for, LifecycleKey};
use crate::app::dialogs::confirm::{Confirm, ConfirmAction};
use crate::app::{App, Command};
use crate::libvirt::jobs::Job;

pub(super) fn toggle_mark(app: &mut App) {
    let Some(key) = app.list.selected_row().map(|r| (r.host, r.name.clone())) else {
        return;
    };
    if !app.list.marked.remove(&key) {
        app.list.marked.insert(key);
    }
    let page = app.page_rows();
    app.list.move_by(1, page);
    let n = app.list.marked.len();
    // Fits 80 columns: the full words are in `?`.
    app.status = (n > 0).then(|| {
        format!("{n} marked: s snapshot, d delete snapshot, S start, D stop, F off (Space unmarks)")
    });
}

pub(super) fn on_bulk_key(app: &mut App, which: LifecycleKey) -> Vec<Command> {
    if !app.hosts.several() {
        if let Some(why) = app.mutation_refused() {
            app.status = Some(why);
            return Vec::new();
        }
    }
    let mut jobs = Vec::new();
    let mut skipped = Vec::new();
    let several = app.hosts.several();
    let mut names = Vec::new();
    for (host, name) in &app.list.marked {
        let Some(row) = app.list.row(*host, name) else {
            continue;
        };
        // Each marked domain is judged on its own host: one host down skips only its rows.
        let refused = app
            .hosts
            .mutation_refused(*host)
            .map(|why| format!("{name}: {why}"))
            .or_else(|| refusal_for(app, which, row));
        match (refused, which.action(app, row)) {
            (None, Some(action)) => {
                names.push(if several {
                    format!("{name} ({})", app.hosts.name(*host))
                } else {
                    name.clone()
                });
                jobs.push((
                    *host,
                    Job::Lifecycle {
                        domain: name.clone(),
                        action,
                    },
                ))
            }
            (Some(why), _) => skipped.push(why),
            (None, None) => {}
        }
    }
    if jobs.is_empty() {
        app.status = Some(format!("nothing to do: {}", skipped.join("; ")));
        return Vec::new();
    }
    let (title, verb, cost) = match which {
        LifecycleKey::Start => ("Start", "Start", None),
        LifecycleKey::Shutdown => (
            "Shut down",
            "Shut down",
            Some(format!(
                "Each gets {} s to stop, then you are asked about forcing it off.",
                app.lifecycle.shutdown_timeout
            )),
        ),
        _ => (
            "Force off",
            "Force off",
            Some("Like pulling the power cord: data the guests have not flushed is lost.".into()),
        ),
    };
    let plural = if names.len() == 1 { "" } else { "s" };
    let mut lines = vec![
        format!("{verb} {} marked domain{plural}?", names.len()),
        names.join(", "),
    ];
    lines.extend(cost);
    if !skipped.is_empty() {
        lines.push(format!("Skipped: {}", skipped.join("; ")));
    }
    app.confirm(Confirm {
        title: title.into(),
        lines,
        yes: format!("{} {}", verb.to_lowercase(), names.len()),
        no: "change nothing".into(),
        action: ConfirmAction::Jobs {
            jobs,
            clear_marks: true,
        },
    });
    Vec::new()
}
