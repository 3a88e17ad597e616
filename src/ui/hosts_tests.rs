//! The list with several hosts: the HOST column, the header's counts, and a host that is
//! reconnecting (its rows dimmed, the reason under the table when one is selected).

use super::tests::{demo_host, mixed_rows, render};
use super::Theme;
use crate::app::{App, HostId, Msg};
use crate::libvirt::worker::Event;

const UNICODE: Theme = Theme {
    color: true,
    ascii: false,
};

/// Three hosts with the mixed rows spread over them; `rack-b` lost its connection.
fn fleet(width: u16, height: u16) -> App {
    let mut app = App::with_hosts(
        vec![
            ("hv01".into(), "qemu+ssh://root@hv01/system".into()),
            ("local".into(), "qemu:///system".into()),
            ("rack-b".into(), "qemu+ssh://root@rack-b/system".into()),
        ],
        width,
        height,
    );
    let rows = mixed_rows();
    let (a, rest) = rows.split_at(3);
    let (b, c) = rest.split_at(3);
    for (h, part) in [a, b, c].into_iter().enumerate() {
        let host = HostId(h);
        app.update(Msg::Worker(host, Event::Connected(Box::new(demo_host()))));
        let mut part = part.to_vec();
        part.sort_by(|x, y| x.name.cmp(&y.name));
        app.update(Msg::Worker(host, Event::DomainList(part)));
        app.update(Msg::Worker(
            host,
            Event::RefreshDone {
                names_after: Default::default(),
                filled_after: Default::default(),
            },
        ));
    }
    app.update(Msg::Worker(
        HostId(2),
        Event::Disconnected {
            reason: "keepalive timed out".into(),
            retry_in: 8,
        },
    ));
    app
}

#[test]
fn list_with_hosts_80x24() {
    let app = fleet(80, 24);
    insta::assert_snapshot!(render(&app, UNICODE, 80, 24));
}

#[test]
fn list_with_hosts_160x48() {
    let mut app = fleet(160, 48);
    // A row of the reconnecting host: the line under the table says why it is dimmed.
    app.list.move_to(app.list.visible_len() - 1, 40);
    insta::assert_snapshot!(render(&app, UNICODE, 160, 48));
}

#[test]
fn one_host_has_no_host_column() {
    let app = super::tests::app_with(mixed_rows(), 80, 24);
    let screen = render(&app, UNICODE, 80, 24);
    assert!(!screen.contains("HOST"), "{screen}");
}
