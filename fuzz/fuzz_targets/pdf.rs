//! `affix_pdf::Pdf::parse` (an uploaded contract PDF: anyone with a tenant key sends
//! one) and, for what it accepts, a signature field added and a signature embedded: never
//! panics; the result parses again and holds the new field, and the earlier bytes are a
//! prefix of it (an incremental update rewrites nothing). Also the verifier's reading
//! (`read_leniently`, `embedded_signatures`: what `affix verify FILE.pdf` runs on a file
//! someone handed over): never panics, and every byte range it reports lies in the file.
#![no_main]

use affix_pdf::{Pdf, SignatureField, SignatureRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(read) = Pdf::read_leniently(data.to_vec())
        && let Ok(signatures) = read.embedded_signatures()
    {
        for sig in signatures {
            let [zero, a, b, c] = sig.byte_range;
            assert!(zero == 0 && a < b && b + c <= data.len());
            assert_eq!(sig.signed_bytes(data).len(), a + c);
        }
    }
    let Ok(pdf) = Pdf::parse(data.to_vec()) else {
        return;
    };
    let request = SignatureRequest {
        field: SignatureField {
            name: "affix-fuzz-field".into(),
            page: 1,
            rect: [10.0, 10.0, 110.0, 60.0],
        },
        signing_time: "D:20261207120000Z".into(),
        reserved_bytes: 64,
    };
    let Ok(prepared) = pdf.prepare_signature(&request) else {
        return;
    };
    assert!(prepared.bytes().starts_with(data));
    let [zero, a, b, rest] = prepared.byte_range();
    assert_eq!((zero, b + rest), (0, prepared.bytes().len()));
    assert!(a < b);
    let signed = prepared.embed(&[0x30, 0x03, 0x02, 0x01, 0x00]).expect("fits");
    let again = Pdf::parse(signed).expect("the signed revision parses again");
    assert!(again.signature_fields().iter().any(|f| f == "affix-fuzz-field"));
});
