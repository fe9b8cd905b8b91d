//! Every DER parser the PKI crates expose to untrusted bytes: PKCS#10 requests, OCSP
//! requests, RFC 3161 requests, responses and tokens, detached CMS signatures. None may
//! panic; whatever parses must give a consistent view.
#![no_main]

use affix_tsp::{ExpectedImprint, TimeStampRequest, TimeStampResponse, TsaTrust};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = affix_pki::ca::VerifiedCsr::from_der(data);
    let _ = affix_pki::ocsp::ParsedRequest::from_der(data);
    if let Ok(request) = TimeStampRequest::parse(data) {
        let again = request.to_der().expect("a parsed request re-encodes");
        assert!(TimeStampRequest::parse(&again).is_ok());
    }
    if let Ok(response) = TimeStampResponse::parse(data) {
        let _ = response.status_text();
        let _ = response.failure_info();
    }
    let _ = affix_tsp::verify_token(data, TsaTrust::IssuedBy(&[]), ExpectedImprint::Data(b"x"), None);
    if let Ok(signature) = affix_cms::DetachedSignature::from_der(data) {
        let _ = signature.signature_value();
        let _ = signature.embedded_timestamp();
        let _ = affix_cms::verify_detached(data, b"x", &[], std::time::SystemTime::UNIX_EPOCH);
    }
});
