//! The list with SPACE, OLDEST and CHAIN (stale and deep markers, "?" with the reason under
//! the table, "..." while read), and the line that says what changes after a restart.

use super::tests::{demo_host, render, row};
use super::Theme;
use crate::app::space_tests::vm_space;
use crate::app::{App, HostId, Msg};
use crate::libvirt::worker::Event;
use crate::model::inventory::DomainInfo;
use crate::model::DomainState;

const UNICODE: Theme = Theme {
    color: true,
    ascii: false,
};

const GIB: u64 = 1 << 30;

/// Running on host-model, its persistent definition edited to host-passthrough
/// migratable='off' since: the next start brings invtsc and no-migrate.
fn edited() -> DomainInfo {
    let mut r = row(
        "app-edited",
        "host-model",
        DomainState::Running,
        2,
        Some("pre"),
    );
    r.persistent = Some(crate::model::fixtures::domain("hp-off-inactive"));
    r
}

fn local_rows() -> Vec<DomainInfo> {
    vec![
        edited(),
        row("archive", "no-cpu", DomainState::Shutoff, 0, None),
        row("build-01", "maximum", DomainState::Running, 9, Some("b9")),
        row(
            "new-vm",
            "custom-qemu64",
            DomainState::Running,
            1,
            Some("s1"),
        ),
        row(
            "web-01",
            "custom-qemu64",
            DomainState::Running,
            3,
            Some("n3"),
        ),
    ]
}

fn answer(
    app: &mut App,
    host: usize,
    domain: &str,
    result: Result<crate::model::space::VmSpace, String>,
) {
    app.update(Msg::Worker(
        HostId(host),
        Event::Space {
            domain: domain.into(),
            result: result.map(Box::new),
        },
    ));
}

fn connect(app: &mut App, host: usize, uri: &str, rows: Vec<DomainInfo>) {
    let mut info = demo_host();
    info.uri = uri.into();
    app.update(Msg::Worker(HostId(host), Event::Connected(Box::new(info))));
    app.update(Msg::Worker(HostId(host), Event::DomainList(rows)));
}

/// Every local row answered but `new-vm` (still being read).
fn answer_local(app: &mut App) {
    answer(
        app,
        0,
        "app-edited",
        Ok(vm_space(
            Some(700 << 20),
            700 << 20,
            Some(1),
            0,
            Some(2),
            "",
        )),
    );
    answer(
        app,
        0,
        "archive",
        Ok(vm_space(Some(0), 0, None, 0, Some(0), "")),
    );
    answer(
        app,
        0,
        "build-01",
        Ok(vm_space(Some(31 * GIB), 31 * GIB, Some(40), 9, Some(9), "")),
    );
    answer(
        app,
        0,
        "web-01",
        Ok(vm_space(
            Some(GIB + GIB / 4),
            GIB + GIB / 4,
            Some(12),
            2,
            Some(3),
            "",
        )),
    );
}

#[test]
fn list_with_space_and_age_80x24() {
    let mut app = App::new("qemu:///system".into(), 80, 24);
    connect(&mut app, 0, "qemu:///system", local_rows());
    answer_local(&mut app);
    // The edited VM is selected: what the next start changes, and its space in words.
    let screen = render(&app, UNICODE, 80, 24);
    assert!(
        screen.contains("after restart: passthrough invtsc no-migrate"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
    // A stale, deep one: the markers explained.
    app.list.move_to(2, 10);
    let screen = render(&app, UNICODE, 80, 24);
    assert!(screen.contains("9 older than 3d"), "{screen}");
    assert!(screen.contains("more than 5"), "{screen}");
}

#[test]
fn list_with_space_and_age_160x48_and_a_remote_host() {
    let mut app = App::with_hosts(
        vec![
            ("local".into(), "qemu:///system".into()),
            ("hv02".into(), "qemu+ssh://root@hv02/system".into()),
        ],
        160,
        48,
    );
    connect(&mut app, 0, "qemu:///system", local_rows());
    connect(
        &mut app,
        1,
        "qemu+ssh://root@hv02/system",
        vec![
            row("db-remote", "hp-off", DomainState::Running, 2, Some("d2")),
            row("mail", "host-model", DomainState::Shutoff, 1, Some("m1")),
        ],
    );
    answer_local(&mut app);
    // Over SSH, what cannot be measured says so rather than guessing.
    let remote = "'d1': unknown on a remote host: the image cannot be read from here, and QEMU \
                  records no size for an internal snapshot's disk data";
    answer(
        &mut app,
        1,
        "db-remote",
        Ok(vm_space(None, 0, Some(2), 0, Some(1), remote)),
    );
    answer(
        &mut app,
        1,
        "mail",
        Err("reading the state of 'mail': the connection was reset".into()),
    );
    let at = app
        .list
        .visible_rows()
        .position(|r| r.name == "db-remote")
        .unwrap();
    app.list.move_to(at, 40);
    let screen = render(&app, UNICODE, 160, 48);
    assert!(screen.contains("unknown on a remote host"), "{screen}");
    insta::assert_snapshot!(screen);
}
