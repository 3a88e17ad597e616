//! Lifecycle jobs against real tiny VMs in the embedded QEMU driver (start, pause/resume,
//! reboot, force off, a graceful shutdown that times out into the force-off question, a bulk
//! start of three marked rows through the app and the worker), and the one-shot commands'
//! exit codes against libvirt's test driver.
//! Run: `cargo test --test lifecycle_kvm -- --nocapture`.

mod common;

use std::process::Command as Process;
use std::time::{Duration, Instant};

use common::{embed_conn, embed_root, TestVm};
use crossterm::event::{KeyCode, KeyEvent};
use virt::connect::Connect;
use virtsnap::app::{App, Command, Msg};
use virtsnap::libvirt::jobs::lifecycle::LifecycleAction;
use virtsnap::libvirt::jobs::{self, Job, JobUpdate};
use virtsnap::libvirt::vmdef::{TinyCpu, TinyVm};
use virtsnap::libvirt::worker::{self, Request, WorkerOptions};
use virtsnap::libvirt::{inventory, ConnectOptions};
use virtsnap::model::DomainState;

fn tiny(name: &str) -> TinyVm {
    TinyVm::new(name, TinyCpu::Default).with_nested_host_workarounds()
}

fn state(conn: &Connect, name: &str) -> DomainState {
    let dom = inventory::lookup(conn, name).unwrap();
    inventory::state_from_virt(&dom.info().unwrap().state)
}

/// Runs a job as the worker would, answering its question with `answer`; returns the result
/// and every update it sent.
fn run_job(
    conn: &Connect,
    domain: &str,
    action: LifecycleAction,
    answer: bool,
) -> (Result<String, String>, Vec<JobUpdate>) {
    let job = Job::Lifecycle {
        domain: domain.to_string(),
        action,
    };
    common::with_job_context(conn, answer, |ctx| jobs::run(ctx, job))
}

#[test]
fn start_pause_resume_reboot_and_force_off() {
    let Some(conn) = embed_conn() else { return };
    let vm = TestVm::define(conn, tiny("life")).unwrap();
    let name = vm.name.as_str();
    let t = Instant::now();
    let (r, _) = run_job(conn, name, LifecycleAction::Start, false);
    assert_eq!(r, Ok(format!("{name} started")));
    assert_eq!(state(conn, name), DomainState::Running);

    let (r, _) = run_job(conn, name, LifecycleAction::Suspend, false);
    assert_eq!(r, Ok(format!("{name} paused")));
    assert_eq!(state(conn, name), DomainState::Paused);
    let (r, _) = run_job(conn, name, LifecycleAction::Resume, false);
    assert_eq!(r, Ok(format!("{name} resumed")));
    assert_eq!(state(conn, name), DomainState::Running);

    let (r, _) = run_job(conn, name, LifecycleAction::Reboot, false);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(state(conn, name), DomainState::Running);

    let (r, _) = run_job(conn, name, LifecycleAction::ForceOff, false);
    assert_eq!(r, Ok(format!("{name} forced off")));
    assert_eq!(state(conn, name), DomainState::Shutoff);
    println!("start, pause, resume, reboot, force off: {:?}", t.elapsed());
}

#[test]
fn start_says_when_it_resumes_a_managed_save_image() {
    let Some(conn) = embed_conn() else { return };
    let vm = TestVm::start(conn, tiny("life-saved")).unwrap();
    let name = vm.name.as_str();
    vm.dom.managed_save(0).unwrap();
    assert_eq!(state(conn, name), DomainState::Shutoff);
    let (r, updates) = run_job(conn, name, LifecycleAction::Start, false);
    assert_eq!(r, Ok(format!("{name} resumed from its managed-save image")));
    assert!(updates.contains(&JobUpdate::Step(format!(
        "starting {name} from its saved memory image"
    ))));
    assert_eq!(state(conn, name), DomainState::Running);
    assert!(!vm.dom.has_managed_save(0).unwrap());
}

#[test]
fn shutdown_of_a_guest_without_os_times_out_into_the_force_off_question() {
    let Some(conn) = embed_conn() else { return };
    let vm = TestVm::start(conn, tiny("life-acpi")).unwrap();
    let name = vm.name.as_str();
    let t = Instant::now();
    // SeaBIOS without an OS ignores the ACPI power button: "no" leaves it running.
    let (r, updates) = run_job(
        conn,
        name,
        LifecycleAction::Shutdown { timeout_secs: 3 },
        false,
    );
    let steps: Vec<&String> = updates
        .iter()
        .filter_map(|u| match u {
            JobUpdate::Step(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(
        steps,
        [3, 2, 1]
            .map(|n| format!("waiting for {name} to shut down ({n} s left)"))
            .iter()
            .collect::<Vec<_>>()
    );
    let question = updates.iter().find_map(|u| match u {
        JobUpdate::Question(q) => Some(q.text.clone()),
        _ => None,
    });
    assert_eq!(
        question.as_deref(),
        Some(
            format!(
                "{name} is still running: force it off? (data not flushed by the guest is lost)"
            )
            .as_str()
        )
    );
    assert!(
        r.as_ref().is_err_and(|e| e.contains("left running")),
        "{r:?}"
    );
    assert_eq!(state(conn, name), DomainState::Running);
    let declined = t.elapsed();

    // "yes" forces it off.
    let (r, _) = run_job(
        conn,
        name,
        LifecycleAction::Shutdown { timeout_secs: 2 },
        true,
    );
    assert_eq!(r, Ok(format!("{name} forced off")));
    assert_eq!(state(conn, name), DomainState::Shutoff);
    println!(
        "declined after {declined:?}, forced after {:?}",
        t.elapsed() - declined
    );
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::from(KeyCode::Char(c)))
}

#[test]
fn bulk_start_of_three_marked_rows_through_the_app_and_the_worker() {
    let Some(conn) = embed_conn() else { return };
    let vms: Vec<TestVm> = (0..3)
        .map(|_| TestVm::define(conn, tiny("bulk")).unwrap())
        .collect();
    let names: Vec<String> = vms.iter().map(|v| v.name.clone()).collect();
    // The worker opens its own connection to this process's embedded root.
    let uri = format!("qemu:///embed?root={}", embed_root().display());
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let worker = worker::spawn(
        WorkerOptions {
            connect: ConnectOptions {
                uri: Some(uri),
                readonly: false,
            },
            demo: false,
            refresh_every: Duration::from_secs(600),
        },
        tx,
    );
    let mut app = App::new("embed".into(), 120, 40);
    let mut pump = |app: &mut App, until: &dyn Fn(&App) -> bool, what: &str| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !until(app) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            match events.try_recv() {
                Ok(e) => {
                    for cmd in app.update(Msg::Worker(Default::default(), e)) {
                        if let Command::StartJob { id, job, .. } = cmd {
                            worker.send(Request::StartJob { id, job });
                        }
                    }
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    };
    let loaded = |app: &App| {
        names.iter().all(|n| {
            app.list
                .row(Default::default(), n)
                .is_some_and(|r| r.state == Some(DomainState::Shutoff))
        })
    };
    pump(&mut app, &loaded, "the three rows");
    for n in &names {
        let at = app.list.visible_rows().position(|r| &r.name == n).unwrap();
        app.list.move_to(at, 10);
        app.update(key(' '));
    }
    assert_eq!(app.list.marked.len(), 3);
    let t = Instant::now();
    assert!(app.update(key('S')).is_empty(), "a bulk start asks first");
    let cmds = app.update(key('y'));
    assert_eq!(cmds.len(), 3);
    assert!(app.list.marked.is_empty());
    for cmd in cmds {
        if let Command::StartJob { id, job, .. } = cmd {
            worker.send(Request::StartJob { id, job });
        }
    }
    let running = |app: &App| {
        app.jobs.running.is_empty()
            && names.iter().all(|n| {
                app.list
                    .row(Default::default(), n)
                    .is_some_and(|r| r.state == Some(DomainState::Running))
            })
    };
    pump(&mut app, &running, "three running rows");
    println!("bulk start of 3: rows running after {:?}", t.elapsed());
    for n in &names {
        assert_eq!(state(conn, n), DomainState::Running);
    }
    worker.stop(Duration::from_secs(5));
    drop(vms);
}

fn cli(args: &[&str]) -> (i32, String, String) {
    let out = Process::new(env!("CARGO_BIN_EXE_virtsnap"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn one_shot_commands_exit_codes_on_the_test_driver() {
    fn with<'a>(more: &[&'a str]) -> Vec<&'a str> {
        [&["-c", "test:///default"][..], more].concat()
    }
    let (code, _, err) = cli(&with(&["start", "test"]));
    assert_eq!((code, err.trim()), (3, "virtsnap: test is already running"));
    let (code, out, _) = cli(&with(&["suspend", "test"]));
    assert_eq!((code, out.trim()), (0, "test paused"));
    let (code, _, err) = cli(&with(&["destroy", "test"]));
    assert_eq!(code, 3, "destroy without --force and no terminal: {err}");
    let (code, out, _) = cli(&with(&["destroy", "test", "--force"]));
    assert_eq!((code, out.trim()), (0, "test forced off"));
    let (code, _, err) = cli(&with(&["shutdown", "test", "nosuch"]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("nosuch"), "{err}");
    let (code, _, err) = cli(&["-c", "test:///default", "--readonly", "reboot", "test"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("read-only"), "{err}");
    let (code, _, _) = cli(&with(&["start"]));
    assert_eq!(code, 2, "a missing DOMAIN is a usage error");
    let (code, _, err) = cli(&with(&["console", "test"]));
    println!("console on the test driver: {code} {err}");
    assert_ne!(code, 0);
}
