//! The recovery commands against libvirt's test driver for states a tiny KVM guest cannot
//! reach: a guest that suspended itself to RAM (pmsuspended) is woken by `resume` through
//! virDomainPMWakeup, not libvirt's resume (which only undoes a pause), and pausing it is
//! refused up front.

mod testnode;

use testnode::{write_node, NodeCpu, NodeDomain};

#[test]
fn resume_wakes_a_pmsuspended_guest_and_pause_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_, uri) = write_node(
        dir.path(),
        &[NodeDomain::new("sleepy", 7, NodeCpu::HostModel)],
    );

    let list = testnode::run_virtsnap(&["-c", &uri, "list", "--json"]);
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(text.contains("\"pmsuspended\""), "{text}");

    let pause = testnode::run_virtsnap(&["-c", &uri, "suspend", "sleepy"]);
    let err = String::from_utf8_lossy(&pause.stderr);
    assert_eq!(pause.status.code(), Some(3), "{err}");
    assert!(
        err.contains("sleepy is suspended to RAM by its guest (pmsuspended): resume wakes it"),
        "{err}"
    );

    // The test driver has no PM wakeup, so the call is refused; the refusal names the call
    // virtsnap made, which is the point: a resume call would have said "not paused".
    let resume = testnode::run_virtsnap(&["-c", &uri, "resume", "sleepy"]);
    let err = String::from_utf8_lossy(&resume.stderr);
    assert_eq!(resume.status.code(), Some(1), "{err}");
    assert!(err.contains("waking sleepy"), "{err}");
    assert!(err.contains("virDomainPMWakeup"), "{err}");
}
