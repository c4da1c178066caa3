//! The oracle installs itself: the test command needs nothing installed beforehand but Python.

use hfhub_tests::oracle::{HF_HUB_2X, Oracle};

#[test]
fn oracle_2x_is_installed_and_pinned() {
    let oracle = Oracle::get(HF_HUB_2X);
    let version = oracle.eval(
        "import huggingface_hub; print(huggingface_hub.__version__)",
        &[],
    );
    assert_eq!(version.trim(), HF_HUB_2X);
}
