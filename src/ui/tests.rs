//! Whole-screen snapshots of the views, drawn on ratatui's TestBackend.

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::{draw, Theme};
use crate::app::{App, Msg};
use crate::libvirt::worker::Event;
use crate::model::inventory::HostId;
use crate::model::inventory::{DomainInfo, HostInfo};
use crate::model::DomainState;

use crate::model::fixtures::domain as fixture;

pub(crate) fn demo_host() -> HostInfo {
    let caps = crate::model::fixtures::host("qemu-system");
    HostInfo {
        uri: "qemu:///system".into(),
        hostname: Some("hv01".into()),
        hypervisor: "QEMU".into(),
        hypervisor_version: 10_000_002,
        libvirt_version: 11_003_000,
        capabilities: caps,
        readonly: false,
        demo: None,
    }
}

pub(crate) fn row(
    name: &str,
    fixture_base: &str,
    state: DomainState,
    snaps: u32,
    current: Option<&str>,
) -> DomainInfo {
    let mut r = DomainInfo::named(name.into(), format!("uuid-{name}"));
    r.state = Some(state);
    r.persistent = Some(fixture(&format!("{fixture_base}-inactive")));
    if state.is_active() {
        r.live = Some(fixture(&format!("{fixture_base}-live")));
    }
    r.vcpus = Some(1);
    r.memory_kib = Some(65536);
    r.snapshots = Some(snaps);
    r.current_snapshot = current.map(str::to_string);
    r
}

pub(crate) fn mixed_rows() -> Vec<DomainInfo> {
    vec![
        row(
            "app-host-model",
            "host-model",
            DomainState::Running,
            2,
            Some("after-upgrade"),
        ),
        row("archive-stopped", "no-cpu", DomainState::Shutoff, 0, None),
        row(
            "batch-paused",
            "hp-off",
            DomainState::Paused,
            1,
            Some("nightly-2026-11-25"),
        ),
        row("db-tsc-pinned", "hp-off-tsc", DomainState::Running, 0, None),
        row(
            "legacy-qemu64",
            "custom-qemu64",
            DomainState::Running,
            3,
            Some("pre-patch"),
        ),
        row(
            "rt-invtsc",
            "custom-invtsc-tsc",
            DomainState::Crashed,
            0,
            None,
        ),
        row("build-maximum", "maximum", DomainState::Running, 0, None),
        row(
            "web-passthrough",
            "hp-off",
            DomainState::Running,
            5,
            Some("web-20261126-101500"),
        ),
    ]
}

/// What `libvirt::storage::read_facts` reads for a domain without snapshots, at `now`.
pub(crate) fn storage_of(row: &DomainInfo, now: i64) -> crate::model::storage::StorageFacts {
    let state = row.state.unwrap_or(DomainState::Shutoff);
    let persistent = row.persistent.clone().unwrap();
    crate::model::storage::StorageFacts {
        domain: row.name.clone(),
        state,
        persistent: true,
        managed_save: false,
        disks_inactive: false,
        driver: "QEMU".into(),
        config: row.live.clone().unwrap_or_else(|| persistent.clone()),
        persistent_config: row.live.as_ref().map(|_| persistent),
        snapshots: Vec::new(),
        current: None,
        images: Vec::new(),
        volumes: Vec::new(),
        libvirt_version: 11_003_000,
        local: true,
        now,
        existing: Vec::new(),
    }
}

/// What the worker answers to `LoadSnapshots` for `row` (no snapshots).
pub(crate) fn loaded(row: &DomainInfo, now: i64) -> Event {
    Event::Snapshots {
        domain: row.name.clone(),
        result: Ok(Box::new(crate::libvirt::snapshots::DomainSnapshots {
            domain: row.name.clone(),
            storage: Some(Box::new(storage_of(row, now))),
            ..Default::default()
        })),
    }
}

pub(crate) fn render(app: &App, theme: Theme, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| draw(f, app, &theme)).unwrap();
    buffer_text(terminal.backend().buffer())
}

/// A drawn buffer as text, one line per row: what an insta snapshot compares.
pub(crate) fn buffer_text(buffer: &ratatui::buffer::Buffer) -> String {
    let mut out = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

pub(crate) fn app_with(rows: Vec<DomainInfo>, width: u16, height: u16) -> App {
    let mut app = App::new("qemu:///system".into(), width, height);
    app.update(Msg::Worker(
        HostId(0),
        Event::Connected(Box::new(demo_host())),
    ));
    app.update(Msg::Worker(HostId(0), Event::DomainList(rows)));
    app.update(Msg::Worker(
        HostId(0),
        Event::RefreshDone {
            names_after: Default::default(),
            filled_after: Default::default(),
        },
    ));
    app
}

const UNICODE: Theme = Theme {
    color: true,
    ascii: false,
};

#[test]
fn list_80x24() {
    let app = app_with(mixed_rows(), 80, 24);
    insta::assert_snapshot!(render(&app, UNICODE, 80, 24));
}

#[test]
fn list_160x48() {
    let app = app_with(mixed_rows(), 160, 48);
    insta::assert_snapshot!(render(&app, UNICODE, 160, 48));
}

#[test]
fn list_while_names_are_still_loading() {
    let mut rows = mixed_rows();
    rows.push(DomainInfo::named("zz-new".into(), "uuid-zz".into()));
    let app = app_with(rows, 80, 24);
    insta::assert_snapshot!(render(&app, UNICODE, 80, 24));
}

#[test]
fn terminal_too_small() {
    let app = app_with(mixed_rows(), 50, 10);
    insta::assert_snapshot!(render(&app, UNICODE, 50, 10));
}

#[test]
fn readonly_marker_in_header() {
    let mut app = app_with(mixed_rows(), 80, 24);
    if let Some(h) = app.hosts.all[0].info.as_mut() {
        h.readonly = true;
    }
    let screen = render(&app, UNICODE, 80, 24);
    assert!(
        screen.lines().next().unwrap().contains("[READ-ONLY]"),
        "{screen}"
    );
}

#[test]
fn list_ascii_no_color_80x24() {
    let app = app_with(mixed_rows(), 80, 24);
    let screen = render(
        &app,
        Theme {
            color: false,
            ascii: true,
        },
        80,
        24,
    );
    assert!(screen.is_ascii(), "ASCII mode drew non-ASCII:\n{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn disconnected_header_keeps_the_list() {
    let mut app = app_with(mixed_rows(), 80, 24);
    app.update(Msg::Worker(
        HostId(0),
        Event::Disconnected {
            reason: "the daemon closed the connection".into(),
            retry_in: 4,
        },
    ));
    insta::assert_snapshot!(render(&app, UNICODE, 80, 24));
}

#[test]
fn filter_prompt_in_footer() {
    use crossterm::event::{KeyCode, KeyEvent};
    let mut app = app_with(mixed_rows(), 80, 24);
    for c in "/invtsc".chars() {
        app.update(Msg::Key(KeyEvent::from(KeyCode::Char(c))));
    }
    insta::assert_snapshot!(render(&app, UNICODE, 80, 24));
}

#[test]
fn a_remapped_key_acts_and_the_footer_and_help_show_it() {
    use crossterm::event::{KeyCode, KeyEvent};
    let config = crate::config::parse(
        std::path::Path::new("/c.toml"),
        "[keys.domains]\nshutdown = \"x\"\nhelp = \"h\"\n",
    )
    .unwrap();
    let mut app = app_with(mixed_rows(), 80, 24);
    app.keys = crate::app::KeyMap::with_remaps(&config.keys).unwrap();
    let screen = render(&app, UNICODE, 80, 24);
    let footer = screen.lines().last().unwrap();
    assert!(footer.starts_with("S start  x stop  F off"), "{footer}");
    assert!(footer.contains("h help"), "{footer}");
    let press = |app: &mut App, c| app.update(Msg::Key(KeyEvent::from(KeyCode::Char(c))));
    assert!(press(&mut app, 'D').is_empty(), "the old key is free now");
    assert!(press(&mut app, 'x').iter().any(|c| matches!(
        c,
        crate::app::Command::StartJob {
            job: crate::libvirt::jobs::Job::Lifecycle { .. },
            ..
        }
    )));
    press(&mut app, 'h');
    let help = render(&app, UNICODE, 80, 24);
    assert!(
        help.lines()
            .any(|l| l.contains("│x ") && l.contains("shut down; asks")),
        "{help}"
    );
    press(&mut app, 'h');
    assert!(app.overlay.is_none(), "the help key closes the help");
}
