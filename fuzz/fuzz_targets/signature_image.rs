//! `SignatureImage::canonicalize` (the handwritten-signature PNG any invite holder
//! uploads) on arbitrary input: never panics, never takes long (decompression bombs are
//! refused before inflating); what it accepts is within the limits and canonical:
//! canonicalizing it again gives the same bytes.
#![no_main]

use affix_contract::{
    SIGNATURE_IMAGE_BYTES_MAX, SIGNATURE_IMAGE_HEIGHT_MAX, SIGNATURE_IMAGE_WIDTH_MAX,
    SignatureImage,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(image) = SignatureImage::canonicalize(data) {
        assert!(image.as_bytes().len() <= SIGNATURE_IMAGE_BYTES_MAX);
        assert!((1..=SIGNATURE_IMAGE_WIDTH_MAX).contains(&image.width()));
        assert!((1..=SIGNATURE_IMAGE_HEIGHT_MAX).contains(&image.height()));
        let again = SignatureImage::canonicalize(image.as_bytes())
            .expect("a canonical image is accepted again");
        assert_eq!(again, image, "canonicalization is not idempotent");
    }
});
