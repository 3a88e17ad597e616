//! Lifecycle proofs on a real Linux guest (tests/setup/build-guest.sh).
//! Run: `cargo test --test guest_lifecycle -- --nocapture`.

mod common;

use common::guest::{guest_env, Guest};

#[test]
fn guest_boots_and_runs_commands() {
    let Some(env) = guest_env() else { return };
    let g = Guest::boot(env, "guest-smoke", |_| {});
    assert_eq!(g.boot_count(), 1);
    g.write_file("/data/hello", "it's me");
    assert_eq!(g.read_file("/data/hello"), "it's me");
    println!("{:?}", g.exec("cat /proc/mounts; uname -a"));
}
