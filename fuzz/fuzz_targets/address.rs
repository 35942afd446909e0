//! The per-address path on any text: no panic, and normalizing is idempotent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use listclean::normalize::normalize;
use listclean::validate::validate;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(address) = normalize(&text) {
        let _ = validate(&address, false);
        let again = normalize(address.as_str()).expect("a normalized address normalizes again");
        assert_eq!(again.as_str(), address.as_str(), "normalizing twice changed {text:?}");
    }
});
