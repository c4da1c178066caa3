//! Class 12: terminal injection. A listing whose file names hold ESC and BEL (clear the screen, ring
//! the bell, fake an "OK"): whatever fails, the names reach stderr escaped, never raw.

use std::collections::BTreeMap;

use super::scripted::*;

const EVIL: &str = "evil\u{1b}[2J\u{1b}[1;32mOK\u{7}.txt";

#[test]
fn names_a_server_chose_reach_the_terminal_escaped() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let canary = Canary::plant(tmp.path());
    let body = Served::regular(b"body\n");
    // Listed with a size the bytes do not have (the download fails, naming the file), and a second
    // listed name the server does not have (404).
    let gone = format!("gone\u{7}{EVIL}");
    let server = start(
        vec![entry(EVIL, &body.etag, 99), entry(&gone, &body.etag, 5)],
        BTreeMap::from([(EVIL.to_owned(), body)]),
    );
    for (args, needle) in [
        (vec![], "evil\\u{1b}[2J\\u{1b}[1;32mOK\\u{7}.txt"),
        (vec!["--include", "gone*"], "gone\\u{7}evil"),
        (vec![gone.as_str()], "gone\\u{7}evil"),
    ] {
        let output = download(tmp.path(), &server, &args).output().expect("run");
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {message}");
        assert!(message.contains(needle), "{args:?}: {message}");
        assert_no_control_characters(&message);
    }
    canary.assert_untouched();
}
