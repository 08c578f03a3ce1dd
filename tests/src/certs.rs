//! Certificates for tests, made with the pki library as `pki init` and `pki issue` would.

use std::path::Path;

use pki::ca::{self, KeyType, Validity};
use pki::issue::{issue, IssueRequest};
use pki::profile::Profile;

/// Writes a CA and leaves (name, profile, validity) into `dir`, like `pki init` + `issue`.
pub fn make_certs(dir: &Path, leaves: &[(&str, Profile, Validity)]) {
    ca::create_in(dir, Validity::days(30), KeyType::EcdsaP256).unwrap();
    add_certs(dir, leaves);
}

/// Issues more leaves from the CA in `dir`.
pub fn add_certs(dir: &Path, leaves: &[(&str, Profile, Validity)]) {
    let ca = ca::Ca::load(dir).unwrap();
    for (name, profile, validity) in leaves {
        let req = IssueRequest {
            name: name.to_string(),
            profile: *profile,
            sans: vec![],
            validity: *validity,
            key_type: KeyType::EcdsaP256,
        };
        issue(&ca, &req)
            .unwrap()
            .write(
                &dir.join(format!("{name}.crt")),
                &dir.join(format!("{name}.key")),
            )
            .unwrap();
    }
}
